"""A check refuses the package's own answer, however it is wrapped, and accepts what the exercise allows.

Each function below returns the right values without the work the exercise
asks for, the ways a learner would find in a minute: the package's function
itself, a wrapper, a partial, a closure, a helper of their own, an import
inside the function, a callable object, the checks' own reference helper.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import bn_helpers
from bn_helpers import activation_forward, batchnorm_forward, checks, dense_forward, ewa_update
from bn_helpers.checks.at_test_time import _ewa_ref


def ewa_wrapper(average, value, beta=0.9):
    return ewa_update(average, value, beta)


def ewa_via_the_checks_reference(average, value, beta=0.9):
    return _ewa_ref(average, value, beta)[0]


def _make_ewa(fn):
    return lambda average, value, beta=0.9: fn(average, value, beta=beta)


ewa_closure = _make_ewa(ewa_update)


def _my_helper(average, value, beta):
    return ewa_update(average, value, beta=beta)


def ewa_through_my_helper(average, value, beta=0.9):
    return _my_helper(average, value, beta)


def ewa_importing_inside(average, value, beta=0.9):
    import bn_helpers as bh

    return bh.ewa_update(average, value, beta)


def ewa_dunder_import(average, value, beta=0.9):
    return __import__("bn_helpers").ewa_update(average, value, beta)


class EwaObject:
    def __call__(self, average, value, beta=0.9):
        return ewa_update(average, value, beta)


@pytest.mark.parametrize("fn, how", [
    (ewa_update, r"is bn_helpers' own bn_helpers\.ewa\.ewa_update"),
    (ewa_wrapper, r"uses bn_helpers\.ewa\.ewa_update"),
    (ewa_via_the_checks_reference, r"uses bn_helpers\.checks\.at_test_time\._ewa_ref"),
    (functools.partial(ewa_update, beta=0.9), r"is bn_helpers' own bn_helpers\.ewa\.ewa_update"),
    (ewa_closure, r"uses bn_helpers\.ewa\.ewa_update"),
    (ewa_through_my_helper, r"uses bn_helpers\.ewa\.ewa_update"),
    (ewa_importing_inside, r"uses the module bn_helpers"),
    (ewa_dunder_import, r"uses __import__, which looks code up as it runs"),
    (EwaObject(), r"uses bn_helpers\.ewa\.ewa_update"),
])  # fmt: skip
def test_the_packages_answer_is_refused_however_it_is_wrapped(fn, how):
    import re

    score, said = checks.verdict(checks.check_ewa_update, fn)
    assert score == 0 and re.match(rf"check_ewa_update: your function {how}\. This exercise is for writing it yourself, "
                                   r"with numpy: the package's version is the answer the check compares with\.", said), said  # fmt: skip


def layer_with_the_allowed_functions(A_prev, W, gamma, beta, activation="relu"):
    Z = dense_forward(A_prev, W)
    Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta)
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, bn_cache, Z_tilde, A, activation)


def layer_with_the_packages_layer(A_prev, W, gamma, beta, activation="relu"):
    return bn_helpers.MLP  # names the module: refused before it is ever called


def test_an_exercise_may_use_the_functions_it_names():
    score, said = checks.verdict(checks.check_layer_forward, layer_with_the_allowed_functions)
    assert score == score.of and "right in all" in said
    score, said = checks.verdict(checks.check_layer_forward, layer_with_the_packages_layer)
    assert score == 0 and "uses the module bn_helpers" in said
    assert ("(it may call batchnorm_forward and activation_forward and dense_forward from bn_helpers, by those "
            "names)") in said


def test_own_code_that_only_uses_numpy_passes():
    def ewa(average, value, beta=0.9):
        return beta * np.asarray(average) + (1 - beta) * np.asarray(value)

    assert checks.verdict(checks.check_ewa_update, ewa)[0] == 1


def test_yours_or_ours_goes_on_with_ours_when_yours_is_ours(capsys):
    assert checks.yours_or_ours(checks.check_ewa_update, ewa_wrapper, ours=ewa_update) is ewa_update
    assert "does not pass its check yet" in capsys.readouterr().out


cache = batchnorm_forward(np.ones((2, 3)), np.ones((2, 1)), np.zeros((2, 1)))[1]  # a notebook's own global


def test_an_unwritten_exercise_that_names_a_global_by_accident_is_unwritten_not_refused():
    def batchnorm_forward(Z, gamma, beta, eps=1e-5):
        raise NotImplementedError()
        return Z_tilde, cache  # noqa: F821 -- the student copy's stub: both names are globals here

    score, said = checks.verdict(checks.check_batchnorm_forward, batchnorm_forward)
    assert score.status == "unwritten" and "is not written yet" in said


def test_an_attribute_is_not_a_global_of_the_same_name():
    """`self.eval()` is the learner's method, not Python's eval; `self.train` is not the package's train."""
    from bn_helpers.checks.refusal import package_use

    class Layer:
        def eval(self):
            self.training = False
            return self

        def forward(self, Z):
            self.eval()
            self.train = None
            return Z

    def looks_up(Z):
        return eval("Z")  # noqa: S307 -- Python's eval: code looked up as it runs

    def imports_a_submodule(Z):
        import bn_helpers.batchnorm as b

        return b.batchnorm_forward(Z, 1.0, 0.0)[0]

    assert package_use(Layer.forward) is None
    assert package_use(looks_up) == "uses eval, which looks code up as it runs"
    assert package_use(imports_a_submodule) == "uses the module bn_helpers"


def noise_with_the_allowed_batchnorm_forward(z, batches, eps=1e-5):
    Z = z[batches]
    k = Z.shape[0]
    return batchnorm_forward(Z, np.ones((k, 1)), np.zeros((k, 1)), eps)[0][:, 0]


def test_05s_answer_is_refused_and_its_allowed_function_is_not():
    """05's exercise may call batchnorm_forward; bn_helpers.batch_normalized_example is the answer the check compares with."""
    score, said = checks.verdict(checks.check_batch_normalized_example, bn_helpers.batch_normalized_example)
    assert score == 0 and "is bn_helpers' own bn_helpers.minibatches.batch_normalized_example" in said, said
    score, said = checks.verdict(checks.check_batch_normalized_example, noise_with_the_allowed_batchnorm_forward)
    assert score == checks.check_batch_normalized_example.points, said


def adam_with_the_packages_class(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    optimizer = bn_helpers.Adam(learning_rate, beta1=beta1, beta2=beta2, eps=eps)
    optimizer.t = t - 1
    optimizer.state = {name: {"v": v[name], "s": s[name]} for name in params}
    optimizer.step(params, grads)


@pytest.mark.parametrize("check, fn, how", [
    (checks.check_momentum_step, bn_helpers.momentum_step, r"is bn_helpers' own bn_helpers\.optimizers\.momentum_step"),
    (checks.check_adam_step, bn_helpers.adam_step, r"is bn_helpers' own bn_helpers\.optimizers\.adam_step"),
    (checks.check_adam_step, adam_with_the_packages_class, r"uses (the module bn_helpers|bn_helpers\.optimizers\.Adam)"),
])  # fmt: skip
def test_04s_optimizer_steps_are_refused_when_they_are_the_packages(check, fn, how):
    import re

    score, said = checks.verdict(check, fn)
    assert score == 0 and re.match(rf"{check.__name__}: your function {how}\.", said), said
