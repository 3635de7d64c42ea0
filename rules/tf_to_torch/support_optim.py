"""Support code for translated Keras training code (Keras -> PyTorch): optimizers and
learning-rate schedules.

A Keras optimizer becomes a torch optimizer whose ``step()`` applies exactly Keras' update
(keras/src/optimizers/*.py): torch's own optimizers differ in where epsilon goes, how momentum
folds in the learning rate, coupled vs decoupled weight decay and their defaults, so the rules
use a native ``torch.optim`` class only where it is Keras' rule for the literal arguments, and
these classes otherwise. ``KerasOptimizer`` is Keras' shared loop (base_optimizer.py): learning
rate (a float, a schedule of the step count, or a callable), loss-scale unscaling, gradient
accumulation, clipping, decoupled weight decay, the per-parameter update, EMA, the step counter.
A schedule (``KerasExponentialDecay`` ...) maps Keras' step count (``optimizer.iterations``
before the update: 0 on the first step) to the learning rate with Keras' formula.
"""

import math

import torch


class KerasLearningRateSchedule:
    """Keras' LearningRateSchedule: ``schedule(step)`` gives the learning rate of the optimizer
    step ``step`` (0 for the first update); a translated optimizer calls it before every step."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override __call__(self, step)")


class KerasExponentialDecay(KerasLearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps), the exponent floored when staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p


class KerasPiecewiseConstantDecay(KerasLearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] for boundaries[i-1] < step <= boundaries[i],
    values[-1] after the last boundary (boundaries truncated to integers like Keras' int step)."""

    def __init__(self, boundaries, values):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and values={values} "
                f"of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values

    def __call__(self, step):
        step = int(step)
        bounds = [int(b) for b in self.boundaries]
        # Keras sums indicator * value over the ranges (exactly one holds for sorted boundaries)
        lr = float(step <= bounds[0]) * self.values[0] + float(step > bounds[-1]) * self.values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], self.values[1:-1]):
            lr += float(low < step <= high) * value
        return lr


class KerasPolynomialDecay(KerasLearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, step capped at decay_steps, or
    with cycle the decay restarting at each multiple of decay_steps."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle

    def __call__(self, step):
        step = float(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power + self.end_learning_rate


class KerasInverseTimeDecay(KerasLearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps), the quotient floored when staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)


def _cosine_decay(step, decay_steps, alpha, lr):
    return lr * ((1 - alpha) * (0.5 * (1.0 + math.cos(math.pi * (step / decay_steps)))) + alpha)


class KerasCosineDecay(KerasLearningRateSchedule):
    """Cosine decay from initial_learning_rate to alpha * it over decay_steps; with warmup_target,
    first a linear warmup from initial_learning_rate to warmup_target over warmup_steps."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            step = min(step, self.decay_steps)
            return _cosine_decay(step, self.decay_steps, self.alpha, self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * fraction + self.initial_learning_rate
        return _cosine_decay(step - self.warmup_steps, self.decay_steps, self.alpha, self.warmup_target)


class KerasCosineDecayRestarts(KerasLearningRateSchedule):
    """SGDR: cosine decay over first_decay_steps, restarting with periods times t_mul and peaks
    times m_mul."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
        if first_decay_steps <= 0:
            raise ValueError(
                f"Argument `first_decay_steps` must be > 0. Received: first_decay_steps={first_decay_steps}"
            )
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha

    def __call__(self, step):
        fraction = float(step) / self.first_decay_steps
        t_mul = float(self.t_mul)
        if t_mul == 1.0:
            i_restart = math.floor(fraction)
            fraction -= i_restart
        else:
            i_restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - t_mul**i_restart) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / t_mul**i_restart
        cosine = 0.5 * self.m_mul**i_restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


class KerasOptimizer(torch.optim.Optimizer):
    """Keras' optimizer loop (keras/src/optimizers/base_optimizer.py) on torch parameters; a
    subclass gives Keras' per-variable ``update_step``. ``step()`` is one ``apply_gradients``:
    gradients divided by loss_scale_factor; with gradient_accumulation_steps=n, summed and applied
    (averaged) every n-th call only; clipped (clipnorm per parameter, global_clipnorm, clipvalue);
    weight decay p -= lr * weight_decay * p (decoupled, before the update); the update; the EMA of
    the parameters (use_ema, copied into them every ema_overwrite_frequency steps and by
    finalize_variable_values()); then the step count. learning_rate is a float (kept in each
    param group's "lr", so torch code may change it), a schedule called with the step count
    before each step, or a callable without arguments called at each step."""

    _counters = ("_iterations",)  # attributes state_dict() saves besides torch's state

    def __init__(
        self,
        params,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        **hyper,
    ):
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set.")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError(
                f"`gradient_accumulation_steps` must be an integer >= 2. Received: {gradient_accumulation_steps}"
            )
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
        # a schedule or a callable is evaluated at every step; a number (or a 0-d tensor) is the rate
        self.schedule = learning_rate if callable(learning_rate) else None
        super().__init__(params, dict(hyper, lr=0.0 if self.schedule is not None else float(learning_rate)))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._iterations = 0  # Keras' raw counter: one per step() call
        self._no_decay = set()

    @property
    def iterations(self):
        """Keras' optimizer.iterations: updates done (step() calls // gradient_accumulation_steps)."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    def _lr(self, group):
        if self.schedule is None:
            return group["lr"]
        if isinstance(self.schedule, KerasLearningRateSchedule):
            lr = float(self.schedule(torch.tensor(self._iterations)))  # Keras passes the raw count
        else:
            lr = float(self.schedule())
        group["lr"] = lr
        return lr

    @property
    def learning_rate(self):
        return self._lr(self.param_groups[0])

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            self.schedule = value
            return
        if isinstance(self.schedule, KerasLearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                "constructor argument, hence its learning rate is not settable."
            )
        self.schedule = None
        for group in self.param_groups:
            group["lr"] = float(value)

    def scale_loss(self, loss):
        """Keras' loss scaling before the gradients (step() divides them by loss_scale_factor)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Keras' exclusion of parameters from weight decay; by parameter only (torch parameters have no names)."""
        if var_names:
            raise NotImplementedError("exclude_from_weight_decay(var_names=...): torch parameters have no Keras names")
        self._no_decay = {id(p) for p in var_list or ()}

    def state_dict(self):
        # torch's state (per-parameter tensors) plus Keras' counters, so that training resumes exactly
        state = super().state_dict()
        state["keras_counters"] = {name: getattr(self, name) for name in self._counters}
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        counters = state_dict.pop("keras_counters", {})
        super().load_state_dict(state_dict)
        for name, value in counters.items():
            setattr(self, name, value)

    def _clip(self, grads):
        if self.clipnorm and self.clipnorm > 0:  # tf.clip_by_norm, each gradient on its own
            return [g * self.clipnorm / torch.clamp(torch.linalg.vector_norm(g), min=self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            norm = torch.sqrt(sum(torch.sum(torch.square(g)) for g in grads))
            scale = self.global_clipnorm * torch.clamp(1.0 / norm, max=1.0 / self.global_clipnorm)
            scale = scale + (norm - norm)  # NaN for a non-finite norm, as in Keras
            return [g * scale for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            return [torch.clamp(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def update_step(self, gradient, param, lr, state, group):
        raise NotImplementedError

    def before_updates(self, params):
        """Called once per update, before the per-parameter update steps (Nadam's product)."""

    def _apply(self, pairs, grads):
        grads = self._clip(grads)
        lrs = {id(group): self._lr(group) for group in self.param_groups}
        if self.weight_decay is not None:
            for p, group in pairs:
                if id(p) not in self._no_decay:
                    p.sub_(p * self.weight_decay * lrs[id(group)])
        self.before_updates([p for p, _ in pairs])
        for (p, group), g in zip(pairs, grads):
            self.update_step(g.to(p.dtype), p, lrs[id(group)], self.state[p], group)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        pairs = [(p, group) for group in self.param_groups for p in group["params"] if p.grad is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        grads = [p.grad for p, _ in pairs]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        n = self.gradient_accumulation_steps
        if n:
            accumulators = [self.state[p].setdefault("gradient_accumulator", torch.zeros_like(p)) for p, _ in pairs]
            if (self._iterations + 1) % n == 0:
                self._apply(pairs, [(g + acc) / n for g, acc in zip(grads, accumulators)])
                for acc in accumulators:
                    acc.zero_()
            else:
                for g, acc in zip(grads, accumulators):
                    acc.add_(g)
        else:
            self._apply(pairs, grads)
        if self.use_ema:
            self._update_ema()
        self._iterations += 1
        return loss

    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def _update_ema(self):
        momentum = self.ema_momentum if self.iterations != 0 else 0.0
        for p in self._all_params():
            average = self.state[p].setdefault("average", torch.zeros_like(p))
            average.copy_(momentum * average + (1 - momentum) * p)
        if self.ema_overwrite_frequency and (self.iterations + 1) % self.ema_overwrite_frequency == 0:
            self.finalize_variable_values()

    @torch.no_grad()
    def finalize_variable_values(self, var_list=None):
        """With use_ema, copies the moving averages into the parameters (Keras does it at the end of fit)."""
        if self.use_ema:
            for p in self._all_params() if var_list is None else var_list:
                if "average" in self.state[p]:
                    p.copy_(self.state[p]["average"])


class KerasSGD(KerasOptimizer):
    """Keras SGD: velocity v = momentum * v - lr * g, p += v (nesterov: p += momentum * v - lr * g).
    torch's SGD keeps b = momentum * b + g and does p -= lr * b: the same only under a constant lr."""

    def __init__(self, params, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        if momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        super().__init__(params, learning_rate, **kwargs)
        self.momentum = momentum
        self.nesterov = nesterov

    def update_step(self, gradient, param, lr, state, group):
        if self.momentum == 0:
            param.sub_(gradient * lr)
            return
        m = state.setdefault("momentum", torch.zeros_like(param))
        m.copy_(m * self.momentum - gradient * lr)
        if self.nesterov:
            param.add_(m * self.momentum - gradient * lr)
        else:
            param.add_(m)


class KerasAdam(KerasOptimizer):
    """Keras Adam: p -= alpha * m / (sqrt(v) + epsilon) with alpha = lr * sqrt(1 - beta_2**t) /
    (1 - beta_1**t): epsilon is added to the uncorrected sqrt(v) (torch adds it after the bias
    correction), default 1e-7; amsgrad keeps the running max of v."""

    def __init__(self, params, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def update_step(self, gradient, param, lr, state, group):
        t = float(self.iterations + 1)
        alpha = lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        m = state.setdefault("momentum", torch.zeros_like(param))
        v = state.setdefault("velocity", torch.zeros_like(param))
        m.add_((gradient - m) * (1 - self.beta_1))
        v.add_((torch.square(gradient) - v) * (1 - self.beta_2))
        if self.amsgrad:
            v_hat = state.setdefault("velocity_hat", torch.zeros_like(param))
            v_hat.copy_(torch.maximum(v_hat, v))
            v = v_hat
        param.sub_(m * alpha / (torch.sqrt(v) + self.epsilon))


class KerasAdamW(KerasAdam):
    """Keras AdamW: Keras Adam with decoupled weight decay (default 0.004), applied as
    p -= lr * weight_decay * p before the update."""

    def __init__(self, params, learning_rate=0.001, weight_decay=0.004, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(params, learning_rate, weight_decay=weight_decay, **kwargs)


class KerasAdamax(KerasOptimizer):
    """Keras Adamax: u = max(beta_2 * u, |g|), p -= lr * m / ((1 - beta_1**t) * (u + epsilon));
    torch adds epsilon inside the max."""

    def __init__(self, params, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def update_step(self, gradient, param, lr, state, group):
        t = float(self.iterations + 1)
        m = state.setdefault("momentum", torch.zeros_like(param))
        u = state.setdefault("norm", torch.zeros_like(param))
        m.add_((gradient - m) * (1 - self.beta_1))
        u.copy_(torch.maximum(self.beta_2 * u, torch.abs(gradient)))
        param.sub_(lr * m / ((1 - self.beta_1**t) * (u + self.epsilon)))


class KerasNadam(KerasOptimizer):
    """Keras Nadam (momentum schedule u_t = beta_1 * (1 - 0.5 * 0.96**t)); used where torch's
    NAdam(momentum_decay=1.0) is not exact: a schedule, clipping, accumulation, EMA..."""

    _counters = ("_iterations", "u_product")

    def __init__(self, params, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.u_product = 1.0

    def before_updates(self, params):
        self.u_product *= self.beta_1 * (1.0 - 0.5 * 0.96 ** float(self.iterations + 1))

    def update_step(self, gradient, param, lr, state, group):
        t = float(self.iterations + 1)
        u_t = self.beta_1 * (1.0 - 0.5 * 0.96**t)
        u_t_1 = self.beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        u_product_t_1 = self.u_product * u_t_1
        m = state.setdefault("momentum", torch.zeros_like(param))
        v = state.setdefault("velocity", torch.zeros_like(param))
        m.add_((gradient - m) * (1 - self.beta_1))
        v.add_((torch.square(gradient) - v) * (1 - self.beta_2))
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * gradient / (1 - self.u_product)
        v_hat = v / (1 - self.beta_2**t)
        param.sub_(m_hat * lr / (torch.sqrt(v_hat) + self.epsilon))


class KerasRMSprop(KerasOptimizer):
    """Keras RMSprop: p -= lr * g / sqrt(v + epsilon) (centered: v - mean(g)**2 + epsilon), with
    momentum the increment including lr accumulated; torch adds epsilon after the sqrt and keeps
    lr out of its momentum buffer; defaults rho 0.9 (torch alpha 0.99), epsilon 1e-7."""

    def __init__(self, params, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def update_step(self, gradient, param, lr, state, group):
        rho = self.rho
        velocity = state.setdefault("velocity", torch.zeros_like(param))
        velocity.copy_(rho * velocity + (1 - rho) * torch.square(gradient))
        if self.centered:
            average_grad = state.setdefault("average_gradient", torch.zeros_like(param))
            average_grad.copy_(rho * average_grad + (1 - rho) * gradient)
            denominator = velocity - torch.square(average_grad) + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = lr * gradient / torch.sqrt(denominator)
        if self.momentum > 0:
            m = state.setdefault("momentum", torch.zeros_like(param))
            m.copy_(self.momentum * m + increment)
            param.sub_(m)
        else:
            param.sub_(increment)


class KerasAdagrad(KerasOptimizer):
    """Keras Adagrad: acc += g**2, p -= lr * g / sqrt(acc + epsilon); torch adds epsilon after the
    sqrt and starts acc at 0 (Keras initial_accumulator_value 0.1)."""

    def __init__(self, params, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def update_step(self, gradient, param, lr, state, group):
        if "accumulator" not in state:
            state["accumulator"] = torch.full_like(param, self.initial_accumulator_value)
        accumulator = state["accumulator"]
        accumulator.add_(torch.square(gradient))
        param.sub_(lr * gradient / torch.sqrt(accumulator + self.epsilon))


class KerasAdadelta(KerasOptimizer):
    """Keras Adadelta (the rule of torch's Adadelta), for what torch's class does not do: a
    schedule, clipping, decoupled weight decay, accumulation, EMA."""

    def __init__(self, params, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def update_step(self, gradient, param, lr, state, group):
        rho, eps = self.rho, self.epsilon
        accumulated_grad = state.setdefault("accumulated_grad", torch.zeros_like(param))
        accumulated_delta = state.setdefault("accumulated_delta_var", torch.zeros_like(param))
        accumulated_grad.copy_(rho * accumulated_grad + (1 - rho) * torch.square(gradient))
        delta = -(torch.sqrt(accumulated_delta + eps) * gradient) / torch.sqrt(accumulated_grad + eps)
        accumulated_delta.copy_(rho * accumulated_delta + (1 - rho) * torch.square(delta))
        param.add_(lr * delta)


class KerasLion(KerasOptimizer):
    """Keras Lion: p -= lr * sign(beta_1 * m + (1 - beta_1) * g), then m = beta_2 * m + (1 - beta_2) * g
    (torch has no Lion)."""

    def __init__(self, params, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                f"Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates to SignSGD. Received: beta_1={beta_1}."
            )
        super().__init__(params, learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def update_step(self, gradient, param, lr, state, group):
        m = state.setdefault("momentum", torch.zeros_like(param))
        param.sub_(lr * torch.sign(m * self.beta_1 + gradient * (1.0 - self.beta_1)))
        m.copy_(m * self.beta_2 + gradient * (1.0 - self.beta_2))


class KerasFtrl(KerasOptimizer):
    """Keras Ftrl (Follow The Regularized Leader, with L1 / L2 / L2-shrinkage and beta; torch has none)."""

    def __init__(
        self,
        params,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        **kwargs,
    ):
        if initial_accumulator_value < 0.0:
            raise ValueError(
                f"`initial_accumulator_value` needs to be positive or zero. Received: {initial_accumulator_value}."
            )
        if learning_rate_power > 0.0:
            raise ValueError(f"`learning_rate_power` needs to be negative or zero. Received: {learning_rate_power}.")
        if min(l1_regularization_strength, l2_regularization_strength, l2_shrinkage_regularization_strength) < 0.0:
            raise ValueError("The regularization strengths need to be positive or zero.")
        super().__init__(params, learning_rate, **kwargs)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def update_step(self, gradient, param, lr, state, group):
        if "accumulator" not in state:
            state["accumulator"] = torch.full_like(param, self.initial_accumulator_value)
            state["linear"] = torch.zeros_like(param)
        accum, linear = state["accumulator"], state["linear"]
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        grad_to_use = gradient + 2 * self.l2_shrinkage_regularization_strength * param
        new_accum = accum + torch.square(gradient)
        linear.add_(grad_to_use - (torch.pow(new_accum, power) - torch.pow(accum, power)) / lr * param)
        quadratic = torch.pow(new_accum, power) / lr + 2 * l2
        l1 = self.l1_regularization_strength
        linear_clipped = torch.clamp(linear, -l1, l1)
        param.copy_((linear_clipped - linear) / quadratic)
        accum.copy_(new_accum)


class KerasLamb(KerasOptimizer):
    """Keras Lamb: the bias-corrected Adam direction scaled by the trust ratio
    ||p|| / ||direction|| (1 when either is 0); torch has no Lamb."""

    def __init__(self, params, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(params, learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def update_step(self, gradient, param, lr, state, group):
        t = float(self.iterations + 1)
        m = state.setdefault("momentum", torch.zeros_like(param))
        v = state.setdefault("velocity", torch.zeros_like(param))
        m.add_((gradient - m) * (1 - self.beta_1))
        v.add_((torch.square(gradient) - v) * (1 - self.beta_2))
        update = (m / (1.0 - self.beta_1**t)) / (torch.sqrt(v / (1.0 - self.beta_2**t)) + self.epsilon)
        w_norm = torch.sqrt(torch.sum(torch.pow(param, 2)))
        g_norm = torch.sqrt(torch.sum(torch.pow(update, 2)))
        ratio = w_norm / g_norm if w_norm > 0 and g_norm > 0 else 1.0
        param.sub_(ratio * lr * update)


class KerasAdafactor(KerasOptimizer):
    """Keras Adafactor: the second moment factored over the last two axes (r, c) for parameters
    of rank >= 2, step size max(epsilon_2, rms(p)) * min(lr, 1 / sqrt(t)), the update divided by
    max(1, rms(update) / clip_threshold); torch's Adafactor differs (no epsilon_2 floor on the
    parameter scale, other decay and defaults)."""

    def __init__(
        self,
        params,
        learning_rate=0.001,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
        **kwargs,
    ):
        super().__init__(params, learning_rate, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def update_step(self, gradient, param, lr, state, group):
        t = float(self.iterations + 1)
        if self.schedule is None and self.relative_step:
            lr = min(lr, 1 / math.sqrt(t))
        rho_t = min(lr, 1 / math.sqrt(t))
        alpha_t = torch.clamp(torch.sqrt(torch.mean(torch.square(param))), min=self.epsilon_2) * rho_t
        regulated_grad_square = torch.square(gradient) + self.epsilon_1
        beta_2_t = 1 - t**self.beta_2_decay
        v = state.setdefault("velocity", torch.zeros_like(param))
        if param.dim() >= 2:
            if "r" not in state:
                state["r"] = torch.zeros_like(param[..., 0])
                state["c"] = torch.zeros_like(param[..., 0, :])
            r, c = state["r"], state["c"]
            r.copy_(beta_2_t * r + (1 - beta_2_t) * torch.mean(regulated_grad_square, dim=-1))
            c.copy_(beta_2_t * c + (1 - beta_2_t) * torch.mean(regulated_grad_square, dim=-2))
            v.copy_((r / torch.mean(r, dim=-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
        else:
            v.copy_(beta_2_t * v + (1 - beta_2_t) * regulated_grad_square)
        u_t = gradient / torch.sqrt(v)
        u_t_hat = u_t / torch.clamp(torch.sqrt(torch.mean(torch.square(u_t))) / self.clip_threshold, min=1.0)
        param.sub_(alpha_t * u_t_hat)
