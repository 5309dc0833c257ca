"""Notebook 04's check: one step of gradient descent with momentum on every parameter, in place."""

from __future__ import annotations

import numpy as np

from ..optimizers import Momentum
from .core import Case, Mistake, Refused, drawn, learner_facing, need_function, run, size


def _momentum_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(13) if rng is None else rng

    def case(name, learning_rate, momentum, dtype=np.float64):
        # a network of n_x inputs, n_1 units with batch norm and n_2 outputs: 4, 3, 2 in the visible cases
        n_x, n_1, n_2 = (4, 3, 2) if visible else (size(rng, 1, 6), size(rng, 1, 6), size(rng, 1, 5))
        shapes = {"W1": (n_1, n_x), "gamma1": (n_1, 1), "beta1": (n_1, 1), "W2": (n_2, n_1), "b2": (n_2, 1)}
        params = {k: rng.normal(0.0, 1.0, s).astype(dtype) for k, s in shapes.items()}
        grads = [{k: rng.normal(0.0, 1.0, s).astype(dtype) for k, s in shapes.items()} for _ in range(3)]
        return Case(name, (params, grads, learning_rate, momentum))

    return [case("3 steps, learning rate 0.1, momentum 0.9", 0.1, 0.9),
            case("3 steps, learning rate 0.5, momentum 0.5", 0.5, 0.5),
            case("3 steps, momentum 0 (plain gradient descent)", 0.2, 0.0)]  # fmt: skip


def _momentum_ref(params, grads, learning_rate, momentum):
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    opt = Momentum(learning_rate, momentum=momentum)
    for g in grads:
        opt.step(params, g)
    return tuple(params.values())


def _three_steps(step):
    """Run a step function ``step(params, grads, velocities, learning_rate, momentum)`` three times; final params.

    Refuses a step that replaces an array of ``params`` instead of changing it:
    the final values would be right, but a layer holding the old array would
    never see them.
    """

    def fn(params, grads, learning_rate, momentum):
        params = {k: np.array(v, dtype=float) for k, v in params.items()}
        velocities = {k: np.zeros_like(v) for k, v in params.items()}
        for g in grads:
            held = dict(params)  # the arrays the layers hold
            step(params, g, velocities, learning_rate, momentum)
            replaced = [k for k, a in held.items() if params.get(k) is not a]
            if replaced:
                raise Refused(f"params[{replaced[0]!r}] is a new array after your step, so the array a layer holds "
                              f"did not change. `params[name] = params[name] - ...` makes a new array; "
                              f"`params[name] -= ...` changes the one in params in place.")  # fmt: skip
        return tuple(params.values())

    return fn


def _step_mistake(update):
    def step(params, grads, velocities, learning_rate, momentum):
        for k in params:
            update(k, params, grads, velocities, learning_rate, momentum)

    return _three_steps(step)


def _pytorch_style(k, p, g, v, lr, mom):
    v[k] = mom * v[k] + g[k]
    p[k] -= lr * v[k]


def _only_w(k, p, g, v, lr, mom):
    if k.startswith("W"):
        v[k] = mom * v[k] + (1 - mom) * g[k]
        p[k] -= lr * v[k]


def _no_memory(k, p, g, v, lr, mom):
    p[k] -= lr * (1 - mom) * g[k]


def _ascent(k, p, g, v, lr, mom):
    v[k] = mom * v[k] + (1 - mom) * g[k]
    p[k] += lr * v[k]


MOMENTUM_MISTAKES = [
    Mistake("your velocity leaves out the factor (1 - momentum): the course's v := momentum * v + (1 - momentum) * dW "
            "is an average of the gradients (PyTorch's SGD leaves the factor out, which is a larger learning rate).",
            _step_mistake(_pytorch_style)),
    Mistake("you update only the W's. gamma and beta (and b) are parameters too: every entry of params gets "
            "the same update from its own gradient.", _step_mistake(_only_w)),
    Mistake("your velocity does not carry over from one step to the next: store it in velocities[name] "
            "(in place), so the next step starts from it.", _step_mistake(_no_memory)),
    Mistake("you step up the gradient: W := W - learning_rate * v (minus, to lower the loss).", _step_mistake(_ascent)),
    Mistake("params are not updated in place: change the arrays in params (e.g. `params[name] -= ...`), so that "
            "every layer holding them sees the new values.", lambda params, grads, lr, mom: tuple(
                np.array(v, dtype=float) for v in params.values())),
]


@learner_facing(points=2)
def check_momentum_step(fn, hidden=False):
    """Check ``fn(params, grads, velocities, learning_rate, momentum=0.9)``: one step of momentum, in place.

    ``params``, ``grads`` and ``velocities`` are dicts with the same names
    (``W1, gamma1, beta1, ...``); ``fn`` updates ``velocities[name]`` and
    ``params[name]`` in place for every name and returns nothing. Three
    consecutive steps are compared with :class:`bn_helpers.Momentum`.
    """
    need_function(fn, "check_momentum_step", "check_momentum_step(momentum_step)")
    run("check_momentum_step", _three_steps(fn), _momentum_ref, drawn(_momentum_cases, hidden), MOMENTUM_MISTAKES,
        ["W1", "gamma1", "beta1", "W2", "b2"])  # fmt: skip
