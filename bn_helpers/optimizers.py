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
batch norm's learned shift ``beta``. (PyTorch's SGD momentum leaves out the
``(1 - momentum)`` factor, which rescales the learning rate by ``1 / (1 - momentum)``.)
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_scalar


class Optimizer:
    """Base class: validates the learning rate and the params/grads dicts."""

    def __init__(self, learning_rate):
        self.learning_rate = check_scalar(learning_rate, "learning_rate", low=0.0, low_open=True)
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
        for name, p in params.items():
            p -= self._update(name, grads[name])

    def _update(self, name, g):
        raise NotImplementedError

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

    def __init__(self, learning_rate, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = check_scalar(momentum, "momentum", low=0.0, high=1.0, high_open=True)

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

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(learning_rate)
        self.beta1 = check_scalar(beta1, "beta1", low=0.0, high=1.0, high_open=True)
        self.beta2 = check_scalar(beta2, "beta2", low=0.0, high=1.0, high_open=True)
        self.eps = check_scalar(eps, "eps", low=0.0, low_open=True)

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
