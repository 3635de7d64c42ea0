"""torch.optim ports for Keras 3: optimizers with torch's exact update rules and the
torch.optim.lr_scheduler schedulers, stepped by the user's code as in PyTorch.

The optimizers are real ``keras.optimizers.Optimizer`` subclasses (``apply_gradients`` works). Each
follows torch's ``_single_tensor_<name>`` function: scalar factors (bias corrections, step sizes)
are computed in float64, as torch computes them in Python floats, then cast to the variable's
dtype. A hyperparameter that torch's cycling schedulers change between steps (SGD/RMSprop
``momentum``, the Adam family's ``beta1``) is a float64 variable, so that a ``tf.function`` step
reads its current value. The schedulers set the optimizer's learning rate (a Keras variable) the way
torch sets ``param_groups[0]["lr"]``: one parameter group.
"""

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import MutableMapping

import keras
from keras import ops


class TorchOptimizer(keras.optimizers.Optimizer):
    """Base of the torch.optim ports. torch's ``weight_decay`` is an L2 term added to the gradient
    (g + wd * p; AdamW/NAdam's decoupled form is the subclasses' own), not Keras' decoupled
    ``weight_decay``, which stays off; ``maximize`` negates the gradient first, as torch does."""

    torch_momentum_key = None  # "momentum" / "betas": what torch's OneCycleLR and CyclicLR change

    def __init__(self, learning_rate, weight_decay=0.0, maximize=False, name=None, **kwargs):
        # Keras takes a float learning rate only (torch accepts lr=1)
        super().__init__(learning_rate=float(learning_rate), weight_decay=None, name=name, **kwargs)
        self._torch_lr = float(learning_rate)  # torch_get_lr: the exact value behind a float32 variable
        self.torch_weight_decay = float(weight_decay)
        self.maximize = bool(maximize)

    def _scalar_variable(self, value, name):
        # float64: torch keeps its hyperparameters as Python floats
        return keras.Variable(float(value), name=name, dtype="float64", trainable=False)

    def _slots(self, var_list, *names, initial=0.0):
        """One zero-initialised (or ``initial``) state variable per model variable and name."""
        # not keras.initializers.Constant: it rounds the value through float32
        init = (lambda shape, dtype=None: ops.full(shape, initial, dtype=dtype)) if initial else "zeros"
        return [[self.add_variable_from_reference(v, name, initializer=init) for v in var_list] for name in names]

    def _torch_gradient(self, gradient, variable):
        g = ops.cast(gradient, variable.dtype)
        if self.maximize:
            g = ops.negative(g)
        if self.torch_weight_decay != 0:
            g = ops.add(g, ops.multiply(variable, self.torch_weight_decay))
        return g

    def _step(self):
        """torch's step count after its increment, as float64."""
        return ops.cast(ops.add(self.iterations, 1), "float64")

    def _decouple(self, variable, learning_rate):
        """AdamW / decoupled_weight_decay: p *= 1 - lr * wd, before the rule."""
        lr = ops.cast(learning_rate, "float64")
        factor = ops.cast(1.0 - lr * self.torch_weight_decay, variable.dtype)
        self.assign(variable, ops.multiply(variable, factor))

    @property
    def param_groups(self):
        """torch's one parameter group, for code that reads or sets optimizer.param_groups[0]["lr"]."""
        return [TorchParamGroup(self)]

    def get_config(self):
        config = super().get_config()
        config.update({"weight_decay": self.torch_weight_decay, "maximize": self.maximize})
        return config


class TorchSGD(TorchOptimizer):
    """torch.optim.SGD: b = m*b + (1 - dampening)*g (b = g on the first step); p -= lr*b (nesterov:
    lr*(g + m*b)). Keras SGD keeps v = m*v - lr*g instead, which differs once lr changes."""

    torch_momentum_key = "momentum"

    def __init__(
        self,
        learning_rate=0.001,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        maximize=False,
        name="TorchSGD",
        **kwargs,
    ):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(learning_rate, weight_decay, maximize, name=name, **kwargs)
        self._momentum = self._scalar_variable(momentum, "momentum")
        self.dampening = float(dampening)
        self.nesterov = bool(nesterov)

    @property
    def momentum(self):
        return float(self._momentum)

    @momentum.setter
    def momentum(self, value):
        self._momentum.assign(float(value))

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        (self.momentum_buffers,) = self._slots(var_list, "momentum_buffer")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = self._torch_gradient(gradient, variable)
        buf = self.momentum_buffers[self._get_variable_index(variable)]
        m = ops.cast(self._momentum, variable.dtype)
        used = ops.not_equal(self._momentum, 0.0)
        new_buf = ops.where(
            ops.equal(self.iterations, 0), g, ops.add(ops.multiply(buf, m), ops.multiply(g, 1.0 - self.dampening))
        )
        self.assign(buf, ops.where(used, new_buf, buf))
        d_p = ops.add(g, ops.multiply(new_buf, m)) if self.nesterov else new_buf
        self.assign_sub(variable, ops.multiply(ops.where(used, d_p, g), lr))

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "dampening": self.dampening, "nesterov": self.nesterov})
        return config


class TorchAdam(TorchOptimizer):
    """torch.optim.Adam (and AdamW): eps is added to sqrt(v) / sqrt(1 - beta2^t), after the bias
    correction (Keras adds it to the uncorrected sqrt(v)); amsgrad keeps the maximum of v."""

    torch_momentum_key = "betas"

    def __init__(
        self,
        learning_rate=0.001,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        maximize=False,
        decoupled_weight_decay=False,
        name="TorchAdam",
        **kwargs,
    ):
        super().__init__(learning_rate, weight_decay, maximize, name=name, **kwargs)
        self._beta_1 = self._scalar_variable(betas[0], "beta_1")
        self.beta_2 = float(betas[1])
        self.eps = float(eps)
        self.amsgrad = bool(amsgrad)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)

    @property
    def beta_1(self):
        return float(self._beta_1)

    @beta_1.setter
    def beta_1(self, value):
        self._beta_1.assign(float(value))

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.exp_avgs, self.exp_avg_sqs = self._slots(var_list, "exp_avg", "exp_avg_sq")
        if self.amsgrad:
            (self.max_exp_avg_sqs,) = self._slots(var_list, "max_exp_avg_sq")

    def _torch_gradient(self, gradient, variable):
        if not self.decoupled_weight_decay:
            return super()._torch_gradient(gradient, variable)
        g = ops.cast(gradient, variable.dtype)
        return ops.negative(g) if self.maximize else g

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = self._torch_gradient(gradient, variable)
        if self.decoupled_weight_decay and self.torch_weight_decay != 0:
            self._decouple(variable, learning_rate)
        i = self._get_variable_index(variable)
        m, v = self.exp_avgs[i], self.exp_avg_sqs[i]
        step = self._step()
        beta_1 = self._beta_1
        self.assign(m, ops.add(m, ops.multiply(ops.subtract(g, m), ops.cast(1.0 - beta_1, dtype))))
        self.assign(v, ops.add(ops.multiply(v, self.beta_2), ops.multiply(ops.multiply(g, g), 1.0 - self.beta_2)))
        step_size = ops.divide(ops.cast(learning_rate, "float64"), 1.0 - ops.power(beta_1, step))
        bias_correction2_sqrt = ops.sqrt(1.0 - ops.power(ops.convert_to_tensor(self.beta_2, dtype="float64"), step))
        if self.amsgrad:
            v_max = self.max_exp_avg_sqs[i]
            self.assign(v_max, ops.maximum(v_max, v))
            v = v_max
        denom = ops.add(ops.divide(ops.sqrt(v), ops.cast(bias_correction2_sqrt, dtype)), self.eps)
        self.assign_sub(variable, ops.multiply(ops.divide(m, denom), ops.cast(step_size, dtype)))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "betas": (self.beta_1, self.beta_2),
                "eps": self.eps,
                "amsgrad": self.amsgrad,
                "decoupled_weight_decay": self.decoupled_weight_decay,
            }
        )
        return config


class TorchAdamW(TorchAdam):
    """torch.optim.AdamW: Adam with p *= 1 - lr*wd before each step (Keras AdamW's decay, with
    torch's eps placement)."""

    def __init__(
        self,
        learning_rate=0.001,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.01,
        amsgrad=False,
        maximize=False,
        name="TorchAdamW",
        **kwargs,
    ):
        kwargs.pop("decoupled_weight_decay", None)  # from get_config: always True here
        super().__init__(learning_rate, betas, eps, weight_decay, amsgrad, maximize, True, name=name, **kwargs)


class TorchAdamax(TorchAdam):
    """torch.optim.Adamax: u = max(beta2*u, |g| + eps) (eps inside the max; Keras adds it to the
    denominator), p -= lr / (1 - beta1^t) * m / u."""

    def __init__(
        self,
        learning_rate=0.002,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        maximize=False,
        name="TorchAdamax",
        **kwargs,
    ):
        kwargs.pop("amsgrad", None)
        kwargs.pop("decoupled_weight_decay", None)
        super().__init__(learning_rate, betas, eps, weight_decay, False, maximize, False, name=name, **kwargs)

    def build(self, var_list):
        if self.built:
            return
        TorchOptimizer.build(self, var_list)
        self.exp_avgs, self.exp_infs = self._slots(var_list, "exp_avg", "exp_inf")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = self._torch_gradient(gradient, variable)
        i = self._get_variable_index(variable)
        m, u = self.exp_avgs[i], self.exp_infs[i]
        self.assign(m, ops.add(m, ops.multiply(ops.subtract(g, m), ops.cast(1.0 - self._beta_1, dtype))))
        self.assign(u, ops.maximum(ops.multiply(u, self.beta_2), ops.add(ops.abs(g), self.eps)))
        clr = ops.divide(ops.cast(learning_rate, "float64"), 1.0 - ops.power(self._beta_1, self._step()))
        self.assign_sub(variable, ops.multiply(ops.divide(m, u), ops.cast(clr, dtype)))


class TorchNAdam(TorchAdam):
    """torch.optim.NAdam: torch's momentum schedule mu_t = beta1*(1 - 0.5*0.96^(t*momentum_decay))
    with its running product, and eps added after the bias correction (Keras' NAdam differs in both)."""

    def __init__(
        self,
        learning_rate=0.002,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        momentum_decay=0.004,
        decoupled_weight_decay=False,
        maximize=False,
        name="TorchNAdam",
        **kwargs,
    ):
        kwargs.pop("amsgrad", None)
        super().__init__(
            learning_rate, betas, eps, weight_decay, False, maximize, decoupled_weight_decay, name=name, **kwargs
        )
        self.momentum_decay = float(momentum_decay)

    def build(self, var_list):
        if self.built:
            return
        TorchOptimizer.build(self, var_list)
        self.exp_avgs, self.exp_avg_sqs = self._slots(var_list, "exp_avg", "exp_avg_sq")
        # torch keeps one mu_product per parameter (a scalar)
        self.mu_products = [
            self.add_variable((), initializer="ones", dtype="float64", name="mu_product") for _ in var_list
        ]

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = self._torch_gradient(gradient, variable)
        if self.decoupled_weight_decay and self.torch_weight_decay != 0:
            self._decouple(variable, learning_rate)
        i = self._get_variable_index(variable)
        m, v, mu_product = self.exp_avgs[i], self.exp_avg_sqs[i], self.mu_products[i]
        step = self._step()
        beta_1 = self._beta_1
        bias_correction2 = 1.0 - ops.power(ops.convert_to_tensor(self.beta_2, dtype="float64"), step)
        mu = beta_1 * (1.0 - 0.5 * ops.power(0.96, step * self.momentum_decay))
        mu_next = beta_1 * (1.0 - 0.5 * ops.power(0.96, (step + 1.0) * self.momentum_decay))
        product = ops.multiply(mu_product, mu)
        self.assign(mu_product, product)
        self.assign(m, ops.add(m, ops.multiply(ops.subtract(g, m), ops.cast(1.0 - beta_1, dtype))))
        self.assign(v, ops.add(ops.multiply(v, self.beta_2), ops.multiply(ops.multiply(g, g), 1.0 - self.beta_2)))
        denom = ops.add(ops.sqrt(ops.divide(v, ops.cast(bias_correction2, dtype))), self.eps)
        lr = ops.cast(learning_rate, "float64")
        value_g = -lr * (1.0 - mu) / (1.0 - product)
        value_m = (-lr * mu_next) / (1.0 - product * mu_next)
        # two separate additions, as torch's two addcdiv_
        self.assign_add(variable, ops.multiply(ops.divide(g, denom), ops.cast(value_g, dtype)))
        self.assign_add(variable, ops.multiply(ops.divide(m, denom), ops.cast(value_m, dtype)))

    def get_config(self):
        config = super().get_config()
        config.pop("amsgrad", None)
        config["momentum_decay"] = self.momentum_decay
        return config


class TorchRAdam(TorchAdam):
    """torch.optim.RAdam (Keras has none): the Adam step rectified by torch's rho_t, plain momentum
    SGD while rho_t <= 5."""

    def __init__(
        self,
        learning_rate=0.001,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        decoupled_weight_decay=False,
        maximize=False,
        name="TorchRAdam",
        **kwargs,
    ):
        kwargs.pop("amsgrad", None)
        super().__init__(
            learning_rate, betas, eps, weight_decay, False, maximize, decoupled_weight_decay, name=name, **kwargs
        )

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = self._torch_gradient(gradient, variable)
        if self.decoupled_weight_decay and self.torch_weight_decay != 0:
            self._decouple(variable, learning_rate)
        i = self._get_variable_index(variable)
        m, v = self.exp_avgs[i], self.exp_avg_sqs[i]
        step = self._step()
        beta_1, beta_2 = self._beta_1, ops.convert_to_tensor(self.beta_2, dtype="float64")
        self.assign(m, ops.add(m, ops.multiply(ops.subtract(g, m), ops.cast(1.0 - beta_1, dtype))))
        self.assign(v, ops.add(ops.multiply(v, self.beta_2), ops.multiply(ops.multiply(g, g), 1.0 - self.beta_2)))
        bias_correction1 = 1.0 - ops.power(beta_1, step)
        bias_correction2 = 1.0 - ops.power(beta_2, step)
        corrected = ops.multiply(
            ops.divide(m, ops.cast(bias_correction1, dtype)), ops.cast(ops.cast(learning_rate, "float64"), dtype)
        )
        rho_inf = 2 / (1 - self.beta_2) - 1
        rho_t = rho_inf - 2 * step * ops.power(beta_2, step) / bias_correction2
        # where() guards the sqrt: rho_t <= 5 gives a negative radicand on the untaken side
        rect = ops.sqrt(ops.maximum((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t), 0.0))
        adaptive = ops.divide(ops.cast(ops.sqrt(bias_correction2), dtype), ops.add(ops.sqrt(v), self.eps))
        rectified = ops.multiply(ops.multiply(corrected, adaptive), ops.cast(rect, dtype))
        self.assign_sub(variable, ops.where(ops.greater(rho_t, 5.0), rectified, corrected))


class TorchRprop(TorchOptimizer):
    """torch.optim.Rprop (Keras has none): per-element step sizes grown by etas[1] / shrunk by
    etas[0] on the gradient's sign changes, starting at the lr of the first step."""

    def __init__(
        self,
        learning_rate=0.01,
        etas=(0.5, 1.2),
        step_sizes=(1e-6, 50),
        maximize=False,
        name="TorchRprop",
        **kwargs,
    ):
        kwargs.pop("weight_decay", None)
        super().__init__(learning_rate, 0.0, maximize, name=name, **kwargs)
        self.etas = (float(etas[0]), float(etas[1]))
        self.step_sizes = (float(step_sizes[0]), float(step_sizes[1]))

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.prevs, self.step_size_vars = self._slots(var_list, "prev", "step_size")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = self._torch_gradient(gradient, variable)
        i = self._get_variable_index(variable)
        prev, step_size = self.prevs[i], self.step_size_vars[i]
        etaminus, etaplus = self.etas
        # torch fills the step sizes with the lr when it first sees the parameter
        current = ops.where(ops.equal(self.iterations, 0), ops.cast(learning_rate, dtype), step_size)
        sign = ops.sign(ops.multiply(g, prev))
        shrink = ops.less(sign, 0)  # torch's sign.eq(etaminus): 0 < etaminus < 1 < etaplus

        def const(x):  # not a Python float in where(): it would be rounded through float32
            return ops.convert_to_tensor(x, dtype=dtype)

        factor = ops.where(ops.greater(sign, 0), const(etaplus), ops.where(shrink, const(etaminus), const(1.0)))
        new_step_size = ops.clip(ops.multiply(current, factor), const(self.step_sizes[0]), const(self.step_sizes[1]))
        self.assign(step_size, new_step_size)
        g = ops.where(shrink, ops.zeros_like(g), g)
        self.assign_sub(variable, ops.multiply(ops.sign(g), new_step_size))
        self.assign(prev, g)

    def get_config(self):
        config = super().get_config()
        config.pop("weight_decay", None)
        config.update({"etas": self.etas, "step_sizes": self.step_sizes})
        return config


class TorchASGD(TorchOptimizer):
    """torch.optim.ASGD (Keras has none): p *= 1 - lambd*eta; p -= eta*g, with torch's eta and mu
    schedules; the averaged parameters are in ``axs`` (torch's state["ax"])."""

    def __init__(
        self,
        learning_rate=0.01,
        lambd=0.0001,
        alpha=0.75,
        t0=1000000.0,
        weight_decay=0.0,
        maximize=False,
        name="TorchASGD",
        **kwargs,
    ):
        super().__init__(learning_rate, weight_decay, maximize, name=name, **kwargs)
        self.lambd = float(lambd)
        self.alpha = float(alpha)
        self.t0 = float(t0)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        (self.axs,) = self._slots(var_list, "ax")
        # per-parameter scalars, as torch keeps them
        self.etas = [self.add_variable((), dtype="float64", name="eta") for _ in var_list]
        self.mus = [self.add_variable((), initializer="ones", dtype="float64", name="mu") for _ in var_list]

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = self._torch_gradient(gradient, variable)
        i = self._get_variable_index(variable)
        ax, eta_var, mu_var = self.axs[i], self.etas[i], self.mus[i]
        lr = ops.cast(learning_rate, "float64")
        eta = ops.where(ops.equal(self.iterations, 0), lr, eta_var)  # torch's eta starts at the lr
        self.assign(variable, ops.multiply(variable, ops.cast(1.0 - self.lambd * eta, dtype)))
        self.assign_sub(variable, ops.multiply(g, ops.cast(eta, dtype)))
        averaged = ops.add(ax, ops.multiply(ops.subtract(variable, ax), ops.cast(mu_var, dtype)))
        self.assign(ax, ops.where(ops.not_equal(mu_var, 1.0), averaged, variable))
        step = self._step()
        self.assign(eta_var, lr / ops.power(1.0 + self.lambd * lr * step, self.alpha))
        self.assign(mu_var, 1.0 / ops.maximum(1.0, step - self.t0))

    def get_config(self):
        config = super().get_config()
        config.update({"lambd": self.lambd, "alpha": self.alpha, "t0": self.t0})
        return config


class TorchRMSprop(TorchOptimizer):
    """torch.optim.RMSprop: eps added to sqrt(v) (Keras: inside the sqrt); momentum buffer
    b = m*b + g / (sqrt(v) + eps), p -= lr*b (Keras scales by lr inside the buffer)."""

    torch_momentum_key = "momentum"

    def __init__(
        self,
        learning_rate=0.01,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        maximize=False,
        name="TorchRMSprop",
        **kwargs,
    ):
        super().__init__(learning_rate, weight_decay, maximize, name=name, **kwargs)
        self.alpha = float(alpha)
        self.eps = float(eps)
        self._momentum = self._scalar_variable(momentum, "momentum")
        self.centered = bool(centered)

    momentum = TorchSGD.momentum

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.square_avgs, self.momentum_buffers = self._slots(var_list, "square_avg", "momentum_buffer")
        if self.centered:
            (self.grad_avgs,) = self._slots(var_list, "grad_avg")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = self._torch_gradient(gradient, variable)
        i = self._get_variable_index(variable)
        square_avg, buf = self.square_avgs[i], self.momentum_buffers[i]
        self.assign(
            square_avg,
            ops.add(ops.multiply(square_avg, self.alpha), ops.multiply(ops.multiply(g, g), 1.0 - self.alpha)),
        )
        if self.centered:
            grad_avg = self.grad_avgs[i]
            self.assign(grad_avg, ops.add(grad_avg, ops.multiply(ops.subtract(g, grad_avg), 1.0 - self.alpha)))
            avg = ops.sqrt(ops.subtract(square_avg, ops.multiply(grad_avg, grad_avg)))
        else:
            avg = ops.sqrt(square_avg)
        avg = ops.add(avg, self.eps)
        used = ops.greater(self._momentum, 0.0)
        new_buf = ops.add(ops.multiply(buf, ops.cast(self._momentum, variable.dtype)), ops.divide(g, avg))
        self.assign(buf, ops.where(used, new_buf, buf))
        self.assign_sub(variable, ops.multiply(ops.where(used, new_buf, ops.divide(g, avg)), lr))

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "eps": self.eps, "momentum": self.momentum, "centered": self.centered})
        return config


class TorchAdagrad(TorchOptimizer):
    """torch.optim.Adagrad: p -= lr / (1 + (t-1)*lr_decay) * g / (sqrt(sum) + eps), the sum starting at
    initial_accumulator_value (Keras: eps inside the sqrt, no lr_decay, sum starting at 0.1)."""

    def __init__(
        self,
        learning_rate=0.01,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        maximize=False,
        name="TorchAdagrad",
        **kwargs,
    ):
        super().__init__(learning_rate, weight_decay, maximize, name=name, **kwargs)
        self.lr_decay = float(lr_decay)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.eps = float(eps)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        (self.sums,) = self._slots(var_list, "sum", initial=self.initial_accumulator_value)

    def update_step(self, gradient, variable, learning_rate):
        g = self._torch_gradient(gradient, variable)
        state_sum = self.sums[self._get_variable_index(variable)]
        clr = ops.divide(ops.cast(learning_rate, "float64"), 1.0 + (self._step() - 1.0) * self.lr_decay)
        self.assign(state_sum, ops.add(state_sum, ops.multiply(g, g)))
        std = ops.add(ops.sqrt(state_sum), self.eps)
        self.assign_sub(variable, ops.multiply(ops.divide(g, std), ops.cast(clr, variable.dtype)))

    def get_config(self):
        config = super().get_config()
        config.update(
            {"lr_decay": self.lr_decay, "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps}
        )
        return config


class TorchAdadelta(TorchOptimizer):
    """torch.optim.Adadelta with weight_decay or maximize (Keras' Adadelta is torch's rule otherwise)."""

    def __init__(
        self, learning_rate=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False, name="TorchAdadelta", **kwargs
    ):
        super().__init__(learning_rate, weight_decay, maximize, name=name, **kwargs)
        self.rho = float(rho)
        self.eps = float(eps)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.square_avgs, self.acc_deltas = self._slots(var_list, "square_avg", "acc_delta")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = self._torch_gradient(gradient, variable)
        i = self._get_variable_index(variable)
        square_avg, acc_delta = self.square_avgs[i], self.acc_deltas[i]
        self.assign(
            square_avg, ops.add(ops.multiply(square_avg, self.rho), ops.multiply(ops.multiply(g, g), 1.0 - self.rho))
        )
        std = ops.sqrt(ops.add(square_avg, self.eps))
        delta = ops.multiply(ops.divide(ops.sqrt(ops.add(acc_delta, self.eps)), std), g)
        self.assign(
            acc_delta,
            ops.add(ops.multiply(acc_delta, self.rho), ops.multiply(ops.multiply(delta, delta), 1.0 - self.rho)),
        )
        self.assign_sub(variable, ops.multiply(delta, lr))

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "eps": self.eps})
        return config


# --- schedulers -----------------------------------------------------------------------------------


def torch_get_lr(optimizer):
    """The optimizer's learning rate as torch's param_groups[0]["lr"] would hold it: the exact float
    a scheduler last set, unless the variable was changed since (it holds that float's rounding)."""
    current = float(optimizer.learning_rate)
    kept = getattr(optimizer, "_torch_lr", None)
    if kept is not None and float(ops.cast(kept, optimizer.learning_rate.dtype)) == current:
        return kept
    return current


def torch_set_lr(optimizer, value):
    """Sets a Keras optimizer's learning rate (a variable, before or after it is built)."""
    optimizer.learning_rate = float(value)
    optimizer._torch_lr = float(value)


class TorchParamGroup(MutableMapping):
    """optimizer.param_groups[0] of a TorchX port: "lr", and "momentum" or "betas" where torch has
    them, read and set the Keras optimizer; other keys (initial_lr, ...) are kept beside it."""

    def __init__(self, optimizer):
        self.optimizer = optimizer

    def _live(self):
        key = getattr(self.optimizer, "torch_momentum_key", None)
        return ("lr", key) if key else ("lr",)

    def _kept(self):
        if not hasattr(self.optimizer, "_torch_group"):
            self.optimizer._torch_group = {}
        return self.optimizer._torch_group

    def __getitem__(self, key):
        if key == "lr":
            return torch_get_lr(self.optimizer)
        if key == "momentum" and key in self._live():
            return self.optimizer.momentum
        if key == "betas" and key in self._live():
            return (self.optimizer.beta_1, self.optimizer.beta_2)
        return self._kept()[key]

    def __setitem__(self, key, value):
        if key == "lr":
            torch_set_lr(self.optimizer, value)
        elif key == "momentum" and key in self._live():
            self.optimizer.momentum = value
        elif key == "betas" and key in self._live():
            # beta2 is a Python float: a tf.function traced before this keeps the old one
            self.optimizer.beta_1, self.optimizer.beta_2 = float(value[0]), float(value[1])
        else:
            self._kept()[key] = value

    def __delitem__(self, key):
        if key in self._live():
            raise KeyError(f"{key!r} cannot be removed from a Keras optimizer")
        del self._kept()[key]

    def __iter__(self):
        yield from self._live()
        yield from (k for k in self._kept() if k not in self._live())

    def __len__(self):
        return len(list(iter(self)))


class TorchLRScheduler:
    """Base of the torch.optim.lr_scheduler ports (torch's LRScheduler, one parameter group): the
    constructor records initial_lr and takes the first step, as torch's does."""

    def __init__(self, optimizer, last_epoch=-1):
        if last_epoch != -1:
            raise NotImplementedError("resuming a scheduler (last_epoch != -1) is not translated")
        self.optimizer = optimizer
        group = self._group()
        group.setdefault("initial_lr", torch_get_lr(optimizer))
        self.base_lrs = [group["initial_lr"]]
        self.last_epoch = last_epoch
        self._initial_step()

    def _group(self):
        # what torch keeps in param_groups[0] besides lr
        if not hasattr(self.optimizer, "_torch_group"):
            self.optimizer._torch_group = {}
        return self.optimizer._torch_group

    @property
    def lr(self):
        return torch_get_lr(self.optimizer)

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_last_lr(self):
        return self._last_lr

    def get_lr(self):
        raise NotImplementedError

    def step(self, epoch=None):
        if epoch is not None:
            raise NotImplementedError("step(epoch) is deprecated in torch and not translated")
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            value = self.get_lr()
        else:  # SequentialLR restarts a scheduler at epoch 0 with its closed form
            self.last_epoch = epoch
            value = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        if isinstance(value, (list, tuple)):  # a subclass' get_lr() as in torch: one per group
            (value,) = value
        torch_set_lr(self.optimizer, value)
        self._last_lr = [self.lr]

    def state_dict(self):
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class TorchLambdaLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.LambdaLR: lr = initial_lr * lr_lambda(epoch)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != 1:
                raise ValueError(f"Expected 1 lr_lambdas, but got {len(lr_lambda)}")
            lr_lambda = lr_lambda[0]
        self.lr_lambdas = [lr_lambda]
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return self.base_lrs[0] * self.lr_lambdas[0](self.last_epoch)


class TorchMultiplicativeLR(TorchLambdaLR):
    """torch.optim.lr_scheduler.MultiplicativeLR: lr *= lr_lambda(epoch), from the second step."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        if not callable(lr_lambda[0] if isinstance(lr_lambda, (list, tuple)) else lr_lambda):
            raise TypeError("lr_lambda should be a function")
        super().__init__(optimizer, lr_lambda, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self.lr
        return self.lr * self.lr_lambdas[0](self.last_epoch)


class TorchStepLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.StepLR: lr *= gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.lr
        return self.lr * self.gamma

    def _get_closed_form_lr(self):
        return self.base_lrs[0] * self.gamma ** (self.last_epoch // self.step_size)


class TorchMultiStepLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.MultiStepLR: lr *= gamma at each milestone (repeated ones count)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self.lr
        return self.lr * self.gamma ** self.milestones[self.last_epoch]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return self.base_lrs[0] * self.gamma ** bisect_right(milestones, self.last_epoch)


class TorchConstantLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.ConstantLR: lr * factor until total_iters."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return self.lr * self.factor
        if self.last_epoch != self.total_iters:
            return self.lr
        return self.lr * (1.0 / self.factor)

    def _get_closed_form_lr(self):
        return self.base_lrs[0] * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))


class TorchLinearLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.LinearLR, in torch's recursive (chainable) form."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return self.lr * self.start_factor
        if self._is_initial or self.last_epoch > self.total_iters:
            return self.lr
        return self.lr * (
            1.0
            + (self.end_factor - self.start_factor)
            / (self.total_iters * self.start_factor + (self.last_epoch - 1) * (self.end_factor - self.start_factor))
        )

    def _get_closed_form_lr(self):
        return self.base_lrs[0] * (
            self.start_factor
            + (self.end_factor - self.start_factor) * min(self.total_iters, self.last_epoch) / self.total_iters
        )


class TorchExponentialLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.ExponentialLR: lr *= gamma each step."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self.lr
        return self.lr * self.gamma

    def _get_closed_form_lr(self):
        return self.base_lrs[0] * self.gamma**self.last_epoch


class TorchPolynomialLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.PolynomialLR, in torch's recursive form."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return self.lr
        decay_factor = (
            (1.0 - self.last_epoch / self.total_iters) / (1.0 - (self.last_epoch - 1) / self.total_iters)
        ) ** self.power
        return self.lr * decay_factor

    def _get_closed_form_lr(self):
        return self.base_lrs[0] * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power


class TorchCosineAnnealingLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.CosineAnnealingLR in torch's recursive form (which differs from the
    closed form once the lr is changed by anything else, and past T_max)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        base_lr = self.base_lrs[0]
        if self._is_initial:
            return self.lr
        if self._step_count == 1 and self.last_epoch > 0:
            return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return self.lr + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
        return (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / (
            1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max)
        ) * (self.lr - self.eta_min) + self.eta_min

    def _get_closed_form_lr(self):
        return (
            self.eta_min
            + (self.base_lrs[0] - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        )


class TorchCosineAnnealingWarmRestarts(TorchLRScheduler):
    """torch.optim.lr_scheduler.CosineAnnealingWarmRestarts (step() without an epoch)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return self.eta_min + (self.base_lrs[0] - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2

    def step(self, epoch=None):
        if epoch is not None:
            raise NotImplementedError("step(epoch) of CosineAnnealingWarmRestarts is not translated")
        if self.last_epoch < 0:  # the constructor's step: torch's step(epoch=0)
            epoch = 0
            self.T_i = self.T_0
            self.T_cur = 0
        else:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        self.last_epoch = math.floor(epoch)
        torch_set_lr(self.optimizer, self.get_lr())
        self._last_lr = [self.lr]


def torch_cycled_momentum(optimizer, name):
    """What torch's cycle_momentum changes on this optimizer ("momentum" or "betas")."""
    key = getattr(optimizer, "torch_momentum_key", None)
    if key is None:
        if isinstance(optimizer, keras.optimizers.SGD):
            # a native Keras SGD (translated from torch SGD without momentum) builds no momentum state
            raise NotImplementedError(
                f"{name}(cycle_momentum=True) on keras.optimizers.SGD: torch would give the SGD a momentum; "
                "use TorchSGD(...) for the optimizer or pass cycle_momentum=False"
            )
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    return key


def torch_set_momentum(optimizer, key, value):
    if key == "betas":
        optimizer.beta_1 = value
    else:
        optimizer.momentum = value


class TorchOneCycleLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.OneCycleLR: sets the initial lr (max_lr / div_factor) and, with
    cycle_momentum, the optimizer's momentum or beta1, at every step."""

    def __init__(
        self,
        optimizer,
        max_lr,
        total_steps=None,
        epochs=None,
        steps_per_epoch=None,
        pct_start=0.3,
        anneal_strategy="cos",
        cycle_momentum=True,
        base_momentum=0.85,
        max_momentum=0.95,
        div_factor=25.0,
        final_div_factor=10000.0,
        three_phase=False,
        last_epoch=-1,
    ):
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        first = {"end_step": float(pct_start * self.total_steps) - 1, "start_lr": "initial_lr", "end_lr": "max_lr"}
        first.update({"start_momentum": "max_momentum", "end_momentum": "base_momentum"})
        if three_phase:
            self._schedule_phases = [
                first,
                {
                    "end_step": float(2 * pct_start * self.total_steps) - 2,
                    "start_lr": "max_lr",
                    "end_lr": "initial_lr",
                    "start_momentum": "base_momentum",
                    "end_momentum": "max_momentum",
                },
                {
                    "end_step": self.total_steps - 1,
                    "start_lr": "initial_lr",
                    "end_lr": "min_lr",
                    "start_momentum": "max_momentum",
                    "end_momentum": "max_momentum",
                },
            ]
        else:
            self._schedule_phases = [
                first,
                {
                    "end_step": self.total_steps - 1,
                    "start_lr": "max_lr",
                    "end_lr": "min_lr",
                    "start_momentum": "base_momentum",
                    "end_momentum": "max_momentum",
                },
            ]
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        max_lr = max_lr[0] if isinstance(max_lr, (list, tuple)) else max_lr
        group = self._group()
        group["initial_lr"] = max_lr / div_factor
        group["max_lr"] = max_lr
        group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._momentum_key = torch_cycled_momentum(optimizer, "OneCycleLR")
            max_momentum = max_momentum[0] if isinstance(max_momentum, (list, tuple)) else max_momentum
            base_momentum = base_momentum[0] if isinstance(base_momentum, (list, tuple)) else base_momentum
            torch_set_momentum(optimizer, self._momentum_key, max_momentum)
            group["max_momentum"] = max_momentum
            group["base_momentum"] = base_momentum
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, start, end, pct):
        if self._anneal_func_type == "cos":
            cos_out = math.cos(math.pi * pct) + 1
            return end + (start - end) / 2.0 * cos_out
        return (end - start) * pct + start

    def get_lr(self):
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(
                f"Tried to step {step_num} times. The specified number of total steps is {self.total_steps}"
            )
        group = self._group()
        start_step = 0.0
        for i, phase in enumerate(self._schedule_phases):
            end_step = phase["end_step"]
            if step_num <= end_step or i == len(self._schedule_phases) - 1:
                pct = (step_num - start_step) / (end_step - start_step)
                computed_lr = self._anneal_func(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                if self.cycle_momentum:
                    momentum = self._anneal_func(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                    torch_set_momentum(self.optimizer, self._momentum_key, momentum)
                break
            start_step = phase["end_step"]
        return computed_lr


class TorchCyclicLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.CyclicLR: sets the lr to base_lr and, with cycle_momentum, the
    optimizer's momentum or beta1 at every step."""

    def __init__(
        self,
        optimizer,
        base_lr,
        max_lr,
        step_size_up=2000,
        step_size_down=None,
        mode="triangular",
        gamma=1.0,
        scale_fn=None,
        scale_mode="cycle",
        cycle_momentum=True,
        base_momentum=0.8,
        max_momentum=0.9,
        last_epoch=-1,
    ):
        self.optimizer = optimizer
        base_lr = base_lr[0] if isinstance(base_lr, (list, tuple)) else base_lr
        torch_set_lr(optimizer, base_lr)
        self.max_lrs = [max_lr[0] if isinstance(max_lr, (list, tuple)) else max_lr]
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        if scale_fn is None:
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._momentum_key = torch_cycled_momentum(optimizer, "CyclicLR")
            self.base_momentums = [base_momentum[0] if isinstance(base_momentum, (list, tuple)) else base_momentum]
            self.max_momentums = [max_momentum[0] if isinstance(max_momentum, (list, tuple)) else max_momentum]
            torch_set_momentum(optimizer, self._momentum_key, self.max_momentums[0])
        super().__init__(optimizer, last_epoch)
        self.base_lrs = [base_lr]

    def scale_fn(self, x):
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / 2.0 ** (x - 1)
        return self.gamma**x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lr = self.base_lrs[0] + (self.max_lrs[0] - self.base_lrs[0]) * scale_factor * scale
        if self.cycle_momentum:
            base_height = (self.max_momentums[0] - self.base_momentums[0]) * scale_factor
            torch_set_momentum(self.optimizer, self._momentum_key, self.max_momentums[0] - base_height * scale)
        return lr


class TorchSequentialLR(TorchLRScheduler):
    """torch.optim.lr_scheduler.SequentialLR: runs each scheduler in turn, restarting the next one
    (closed form at epoch 0) at each milestone."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler.")
        for scheduler in schedulers:
            if isinstance(scheduler, TorchReduceLROnPlateau):
                raise ValueError("SequentialLR does not support `ReduceLROnPlateau` scheduler")
            if scheduler.optimizer is not optimizer:
                raise ValueError("SequentialLR expects all schedulers to belong to the same optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than milestones"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        torch_set_lr(optimizer, self._group()["initial_lr"])
        self.recursive_undo()
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def recursive_undo(self, sched=None):
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class TorchChainedScheduler(TorchLRScheduler):
    """torch.optim.lr_scheduler.ChainedScheduler: steps every scheduler, in order."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained, but got no scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        for scheduler in schedulers:
            if isinstance(scheduler, TorchReduceLROnPlateau):
                raise ValueError("ChainedScheduler does not support `ReduceLROnPlateau` scheduler")
            if scheduler.optimizer is not optimizer:
                raise ValueError("ChainedScheduler expects all schedulers to belong to the same optimizer")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = [self.lr]

    def step(self):
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [self.lr]


class TorchReduceLROnPlateau(TorchLRScheduler):
    """torch.optim.lr_scheduler.ReduceLROnPlateau: step(metric) lowers the lr after `patience` epochs
    without improvement."""

    def __init__(
        self,
        optimizer,
        mode="min",
        factor=0.1,
        patience=10,
        threshold=1e-4,
        threshold_mode="rel",
        cooldown=0,
        min_lr=0,
        eps=1e-8,
    ):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if mode not in {"min", "max"}:
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        self.factor = factor
        self.optimizer = optimizer
        self.min_lrs = [min_lr[0] if isinstance(min_lr, (list, tuple)) else min_lr]
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [self.lr]
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min" and self.threshold_mode == "abs":
            return a < best - self.threshold
        if self.mode == "max" and self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics, epoch=None):
        if epoch is not None:
            raise NotImplementedError("step(metrics, epoch) is deprecated in torch and not translated")
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old_lr = self.lr
            new_lr = max(old_lr * self.factor, self.min_lrs[0])
            if old_lr - new_lr > self.eps:
                torch_set_lr(self.optimizer, new_lr)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [self.lr]
