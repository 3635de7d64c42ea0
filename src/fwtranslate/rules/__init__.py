"""Declarative rules: loading, validation and the generic call rewriter they drive."""

from .loader import RuleFileError, RuleSet, builtin_rules_dir, load_rules, parse_rule_file
from .model import Outcome, Rule, apply

__all__ = ["Outcome", "Rule", "RuleFileError", "RuleSet", "apply", "builtin_rules_dir", "load_rules", "parse_rule_file"]
