"""Optimizers that update any dict of named parameters: ``W``, ``gamma`` and ``beta`` alike.

Each optimizer's ``step(params, grads)`` updates the arrays in ``params`` in
place (so layers holding the same arrays see the change) and keeps its own
state (velocities, squared-gradient averages) per parameter name.

The updates follow the lecture's form, where the velocity is an exponentially
weighted average of the gradients::

    momentum: v = momentum * v + (1 - momentum) * dW            W -= lr * v
    RMSprop:  s = beta2 * s + (1 - beta2) * dW**2               W -= lr * dW / (sqrt(s) + eps)
    Adam:     v = beta1 * v + (1 - beta1) * dW,  s as RMSprop,  bias-corrected:
              W -= lr * (v / (1 - beta1**t)) / (sqrt(s / (1 - beta2**t)) + eps)

``momentum``, ``beta1`` and ``beta2`` are the optimizers' betas, unrelated to
batch norm's learned shift ``beta`` (``params["beta1"]`` is layer 1's shift,
which Adam's ``beta1`` updates like any other parameter). (PyTorch's SGD
momentum leaves out the ``(1 - momentum)`` factor, which rescales the learning
rate by ``1 / (1 - momentum)``.)

:func:`momentum_step` and :func:`adam_step` are one step of the update written
plainly, the functions notebook 04 asks for. The classes compute the same
numbers with work arrays kept between steps (faster for the stacked
parameters of several seeds) and can instead call such a function
(``step=``), so that a notebook trains with the learner's own update.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_scalar


def momentum_step(params, grads, velocities, learning_rate, momentum=0.9):
    """One step of gradient descent with momentum for every parameter, in place; returns nothing.

    ``params``, ``grads``, ``velocities``: dicts with the same names
    (``W1``, ``gamma1``, ``beta1``, ``b2``, ...), each array of its
    parameter's shape (``W1`` ``(n_1, n_x)``, ``gamma1`` ``(n_1, 1)``); the
    velocities start as zeros and carry over between steps.
    ``momentum`` in [0, 1) is the average's beta.
    """
    for name in params:
        velocities[name] = momentum * velocities[name] + (1 - momentum) * grads[name]
        params[name] -= learning_rate * velocities[name]  # in place: a layer holding the array sees the step


def adam_step(params, grads, v, s, t, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam for every parameter, in place; returns nothing.

    ``params``, ``grads``, ``v``, ``s``: dicts with the same names (as for
    :func:`momentum_step`); ``v`` and ``s`` start as zeros and carry the
    averages of the gradients and of their squares between steps. ``t``:
    this step's number, 1 for the first, which the bias corrections need.
    ``beta1``, ``beta2``: Adam's betas, not batch norm's ``params["beta1"]``.
    """
    for name in params:
        v[name] = beta1 * v[name] + (1 - beta1) * grads[name]
        s[name] = beta2 * s[name] + (1 - beta2) * grads[name] ** 2
        v_hat = v[name] / (1 - beta1**t)  # v and s start at 0: without this the first steps are too small (v)
        s_hat = s[name] / (1 - beta2**t)  # or about 1 / sqrt(1 - beta2) = 31.6 times too large (s alone)
        params[name] -= learning_rate * v_hat / (np.sqrt(s_hat) + eps)


class Optimizer:
    """Base class: validates the learning rate and the params/grads dicts.

    ``step``: a function with the signature of :func:`momentum_step` (for
    :class:`Momentum`) or :func:`adam_step` (for :class:`Adam`) that makes
    the update instead of the class's own code, with the optimizer's state
    and hyperparameters; None: the class's own.
    """

    #: the names of the state a ``step`` function receives, in its order (after ``params, grads``)
    _step_state: tuple[str, ...] = ()

    def __init__(self, learning_rate, step=None):
        self.learning_rate = check_scalar(learning_rate, "learning_rate", low=0.0, low_open=True)
        if step is not None and not self._step_state:
            raise ValueError(f"step= is for Momentum and Adam, whose update a notebook asks for; got it for {type(self).__name__}")
        if step is not None and not callable(step):
            raise TypeError(f"step must be a function such as adam_step; got {type(step).__name__}")
        self.step_function = step
        self.t = 0  # number of steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._work: dict[tuple[str, int], np.ndarray] = {}

    def step(self, params, grads):
        """Update every ``params[name]`` in place from ``grads[name]``."""
        if set(params) != set(grads):
            raise ValueError(
                f"grads must have the same names as params; missing {sorted(set(params) - set(grads))}, "
                f"unexpected {sorted(set(grads) - set(params))}"
            )
        grads = {name: np.asarray(grads[name]) for name in params}
        for name, p in params.items():
            if not (isinstance(p, np.ndarray) and p.dtype.kind == "f"):
                raise TypeError(f"params[{name!r}] must be a float ndarray (updated in place); got {type(p).__name__}")
            if grads[name].shape != p.shape:
                raise ValueError(f"grads[{name!r}] must have shape {p.shape} like params[{name!r}]; got {grads[name].shape}")
        self.t += 1
        if self.step_function is not None:
            self._call_step_function(params, grads)
            return
        for name, p in params.items():
            p -= self._update(name, grads[name])

    def _update(self, name, g):
        raise NotImplementedError

    def _step_arguments(self):
        """What a ``step`` function takes after its state dicts: ``(learning_rate, ...)``."""
        raise NotImplementedError

    def _call_step_function(self, params, grads):
        held = dict(params)
        state = [{name: self._slot(name, key, p) for name, p in params.items()} for key in self._step_state]
        self.step_function(params, grads, *state, *self._step_arguments())
        replaced = [name for name, p in held.items() if params.get(name) is not p]
        if replaced:
            raise ValueError(f"step replaced params[{replaced[0]!r}] by a new array instead of changing it in place, "
                             f"so a layer holding the old array would not see the update")  # fmt: skip
        for key, d in zip(self._step_state, state):  # a function may rebind its state's entries (v[name] = ...)
            for name in params:
                self.state[name][key] = d[name]

    def _slot(self, name, key, like):
        """Per-parameter state, created as zeros on first use."""
        slots = self.state.setdefault(name, {})
        if key not in slots:
            slots[key] = np.zeros_like(like)
        return slots[key]

    def _scratch(self, name, i, like):
        """Work array ``i`` for parameter ``name``, kept from step to step; its contents are not state.

        The updates write their intermediate results here (``out=``) rather
        than into fresh arrays: for the stacked parameters of several seeds,
        fresh arrays of a few hundred kilobytes cost the operating system's
        page faults on most steps, which took longer than the arithmetic.
        """
        buf = self._work.get((name, i))
        if buf is None or buf.shape != like.shape:
            buf = self._work[name, i] = np.empty_like(like, dtype=float)
        return buf


class GradientDescent(Optimizer):
    """Plain (mini-batch) gradient descent: ``W -= learning_rate * dW``."""

    def _update(self, name, g):
        return np.multiply(self.learning_rate, g, out=self._scratch(name, 0, g))


class Momentum(Optimizer):
    """Gradient descent with momentum; ``momentum`` in [0, 1) is the average's beta (0.9 typical)."""

    _step_state = ("v",)

    def __init__(self, learning_rate, momentum=0.9, step=None):
        super().__init__(learning_rate, step)
        self.momentum = check_scalar(momentum, "momentum", low=0.0, high=1.0, high_open=True)

    def _step_arguments(self):
        return self.learning_rate, self.momentum

    def _update(self, name, g):
        v, w = self._slot(name, "v", g), self._scratch(name, 0, g)
        v *= self.momentum
        v += np.multiply(1.0 - self.momentum, g, out=w)
        return np.multiply(self.learning_rate, v, out=w)


class RMSprop(Optimizer):
    """RMSprop; ``beta2`` in [0, 1) averages the squared gradients, ``eps`` guards the division."""

    def __init__(self, learning_rate, beta2=0.999, eps=1e-8):
        super().__init__(learning_rate)
        self.beta2 = check_scalar(beta2, "beta2", low=0.0, high=1.0, high_open=True)
        self.eps = check_scalar(eps, "eps", low=0.0, low_open=True)

    def _update(self, name, g):
        s, w, w2 = self._slot(name, "s", g), self._scratch(name, 0, g), self._scratch(name, 1, g)
        s *= self.beta2
        np.multiply(1.0 - self.beta2, g, out=w)
        w *= g
        s += w
        np.multiply(self.learning_rate, g, out=w)
        w /= np.add(np.sqrt(s, out=w2), self.eps, out=w2)
        return w


class Adam(Optimizer):
    """Adam: momentum (``beta1``) plus RMSprop (``beta2``) with bias correction."""

    _step_state = ("v", "s")

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8, step=None):
        super().__init__(learning_rate, step)
        self.beta1 = check_scalar(beta1, "beta1", low=0.0, high=1.0, high_open=True)
        self.beta2 = check_scalar(beta2, "beta2", low=0.0, high=1.0, high_open=True)
        self.eps = check_scalar(eps, "eps", low=0.0, low_open=True)

    def _step_arguments(self):
        return self.t, self.learning_rate, self.beta1, self.beta2, self.eps

    def _update(self, name, g):
        v, s = self._slot(name, "v", g), self._slot(name, "s", g)
        w, w2 = self._scratch(name, 0, g), self._scratch(name, 1, g)
        v *= self.beta1
        v += np.multiply(1.0 - self.beta1, g, out=w)
        s *= self.beta2
        np.multiply(1.0 - self.beta2, g, out=w)
        w *= g
        s += w
        # lr * v_hat / (sqrt(s_hat) + eps) with the two bias corrections folded
        # into scalars: the same number, two fewer temporary arrays per parameter.
        c1, c2 = 1.0 - self.beta1**self.t, np.sqrt(1.0 - self.beta2**self.t)
        np.multiply(self.learning_rate * c2 / c1, v, out=w)
        w /= np.add(np.sqrt(s, out=w2), self.eps * c2, out=w2)
        return w


OPTIMIZERS = {"gd": GradientDescent, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}


def make_optimizer(name, learning_rate, **hyperparameters):
    """Build an optimizer by name: ``"gd"``, ``"momentum"``, ``"rmsprop"`` or ``"adam"``.

    >>> opt = make_optimizer("adam", 0.01, beta1=0.9)
    """
    check_choice(name, "optimizer", OPTIMIZERS)
    return OPTIMIZERS[name](learning_rate, **hyperparameters)
