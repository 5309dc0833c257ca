"""Notebook 04's checks: one step of momentum, and one of Adam, on every parameter, in place."""

from __future__ import annotations

import numpy as np

from ..optimizers import Adam, Momentum
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


def _three_steps(step, state=("velocities",), counted=False):
    """Run a step function three times from zero ``state`` dicts; the final params, as a tuple.

    ``step(params, grads, *state, [t,] *hyperparameters)``, with ``t`` = 1, 2, 3
    when ``counted`` (Adam's bias corrections need the step's number).
    Refuses a step that replaces an array of ``params`` instead of changing
    it: the final values would be right, but a layer holding the old array
    would never see them.
    """

    def fn(params, grads, *hyperparameters):
        params = {k: np.array(v, dtype=float) for k, v in params.items()}
        dicts = [{k: np.zeros_like(v) for k, v in params.items()} for _ in state]
        for t, g in enumerate(grads, start=1):
            held = dict(params)  # the arrays the layers hold
            step(params, g, *dicts, *((t,) if counted else ()), *hyperparameters)
            replaced = [k for k, a in held.items() if params.get(k) is not a]
            if replaced:
                raise Refused(f"params[{replaced[0]!r}] is a new array after your step, so the array a layer holds "
                              f"did not change. `params[name] = params[name] - ...` makes a new array; "
                              f"`params[name] -= ...` changes the one in params in place.")  # fmt: skip
        return tuple(params.values())

    return fn


#: The mistake both steps share: the right values in arrays of the learner's own, and params left as they were.
_NOT_IN_PLACE = ("params are not updated in place: change the arrays in params (e.g. `params[name] -= ...`), so that "
                 "every layer holding them sees the new values.")  # fmt: skip


def _unchanged(params, grads, *hyperparameters):
    return tuple(np.array(v, dtype=float) for v in params.values())


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
    Mistake(_NOT_IN_PLACE, _unchanged),
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


# --- Adam ------------------------------------------------------------------------------------


def _adam_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(17) if rng is None else rng

    def case(name, scale, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        n_x, n_1, n_2 = (4, 3, 2) if visible else (size(rng, 1, 6), size(rng, 1, 6), size(rng, 1, 5))
        shapes = {"W1": (n_1, n_x), "gamma1": (n_1, 1), "beta1": (n_1, 1), "W2": (n_2, n_1), "b2": (n_2, 1)}
        params = {k: rng.normal(0.0, 1.0, sh) for k, sh in shapes.items()}
        # gradients of size 0.5-2 times scale (5-20 in the first two cases), of random signs that change between
        # steps: eps matters only where scale is tiny (the third case), not through an entry that happens to be near 0
        grads = [{k: scale * rng.choice([-1.0, 1.0], sh) * rng.uniform(0.5, 2.0, sh) for k, sh in shapes.items()}
                 for _ in range(3)]  # fmt: skip
        return Case(name, (params, grads, learning_rate, beta1, beta2, eps))

    if visible:
        return [case("steps t = 1, 2, 3 with Adam's defaults (learning rate 0.001, beta1 0.9, beta2 0.999)", 10.0),
                case("steps t = 1, 2, 3, learning rate 0.01, beta1 0.5, beta2 0.9", 10.0, 0.01, 0.5, 0.9),
                case("steps t = 1, 2, 3, gradients of about 1e-6, where eps matters", 1e-6, 0.01)]  # fmt: skip
    lr, b1, b2, tiny = (float(rng.uniform(0.001, 0.1)), float(rng.uniform(0.3, 0.95)), float(rng.uniform(0.9, 0.999)),
                        float(rng.uniform(1e-7, 1e-6)))  # fmt: skip
    return [case("steps t = 1, 2, 3 with Adam's defaults (learning rate 0.001, beta1 0.9, beta2 0.999)", 10.0),
            case(f"steps t = 1, 2, 3, learning rate {lr:.3g}, beta1 {b1:.3g}, beta2 {b2:.3g}", 10.0, lr, b1, b2),
            case(f"steps t = 1, 2, 3, gradients of about {tiny:.0e}, where eps matters", tiny, 0.01)]  # fmt: skip


def _adam_ref(params, grads, learning_rate, beta1, beta2, eps):
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    opt = Adam(learning_rate, beta1=beta1, beta2=beta2, eps=eps)
    for g in grads:
        opt.step(params, g)
    return tuple(params.values())


def _adam_build(correct_v=True, correct_s=True, store_corrected=False, eps_inside=False, swapped=False,
                only_w=False, no_sqrt=False):  # fmt: skip
    """Adam with the mistakes asked for, as the check's reference is called."""

    def step(params, grads, v, s, t, learning_rate, beta1, beta2, eps):
        b1, b2 = (beta2, beta1) if swapped else (beta1, beta2)
        for k in [k for k in params if k.startswith("W")] if only_w else params:
            v[k] = b1 * v[k] + (1 - b1) * grads[k]
            s[k] = b2 * s[k] + (1 - b2) * grads[k] ** 2
            v_hat = v[k] / (1 - b1**t) if correct_v else v[k]
            s_hat = s[k] / (1 - b2**t) if correct_s else s[k]
            if store_corrected:
                v[k], s[k] = v_hat, s_hat
            root = s_hat if no_sqrt else np.sqrt(s_hat + eps) if eps_inside else np.sqrt(s_hat)
            params[k] -= learning_rate * v_hat / (root + (0.0 if eps_inside else eps))

    return _three_steps(step, ("v", "s"), counted=True)


ADAM_MISTAKES = [
    Mistake("no bias correction: v and s start at 0, so in the first steps they are too small (at t = 1, v is "
            "(1 - beta1) dW and s is (1 - beta2) dW**2). Divide them by (1 - beta1**t) and (1 - beta2**t) for the "
            "update (not in v and s themselves).",
            _adam_build(correct_v=False, correct_s=False)),
    Mistake("only v is bias-corrected: s_hat = s / (1 - beta2**t) too. Without it the first step divides by "
            "sqrt((1 - beta2) dW**2), about 1/31.6 of |dW| with beta2 = 0.999: a step 31.6 times too large.",
            _adam_build(correct_s=False)),
    Mistake("only s is bias-corrected: v_hat = v / (1 - beta1**t) too, or the first step is (1 - beta1) times the right one.",
            _adam_build(correct_v=False)),
    Mistake("you store the bias-corrected values in v and s: the next step averages from them and corrects again. "
            "Keep v and s as the plain averages; v_hat and s_hat are for this step's update only.",
            _adam_build(store_corrected=True)),
    Mistake("eps is inside the square root: Adam divides by sqrt(s_hat) + eps. With gradients of about 1e-6, "
            "sqrt(s_hat + eps) is about 1e-4 instead of about 1e-6.", _adam_build(eps_inside=True)),
    Mistake("you divide by s_hat, not by its square root: the update is learning_rate * v_hat / (sqrt(s_hat) + eps).",
            _adam_build(no_sqrt=True)),
    Mistake("beta1 and beta2 are swapped: v (the gradients' average) uses beta1, s (the squared gradients') beta2. "
            "Both are Adam's; params['beta1'] is batch norm's shift of layer 1, another thing.",
            _adam_build(swapped=True)),
    Mistake("you update only the W's. gamma and beta (and b) are parameters too: Adam updates every entry of params "
            "from its own gradient, with its own v and s.", _adam_build(only_w=True)),
    Mistake(_NOT_IN_PLACE, _unchanged),
]


@learner_facing(points=2)
def check_adam_step(fn, hidden=False):
    """Check ``fn(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8)``: one step of Adam, in place.

    ``params``, ``grads``, ``v`` and ``s`` are dicts with the same names
    (``W1, gamma1, beta1, ...``); ``fn`` updates ``v``, ``s`` and ``params``
    for every name and returns nothing. Three consecutive steps (``t`` = 1,
    2, 3, from zero ``v`` and ``s``) are compared with :class:`bn_helpers.Adam`.
    """
    need_function(fn, "check_adam_step", "check_adam_step(adam_step)")
    run("check_adam_step", _three_steps(fn, ("v", "s"), counted=True), _adam_ref, drawn(_adam_cases, hidden),
        ADAM_MISTAKES, ["W1", "gamma1", "beta1", "W2", "b2"])  # fmt: skip
