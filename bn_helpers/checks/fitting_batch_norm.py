"""Notebook 03's checks: a hidden layer with batch norm and no bias, forward and backward (a "sandwich" layer).

Exercise 1, ``layer_forward(A_prev, W, gamma, beta, activation="relu") -> (A, cache)``:
``Z = W @ A_prev``, ``Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta)``,
``A = g(Z_tilde)``, and the cache the exercise prescribes,
``(A_prev, W, bn_cache, Z_tilde, A, activation)``. Exercise 2,
``layer_backward(dA, cache) -> (dA_prev, dW, dgamma, dbeta)``, unpacks that cache. Exercise 3,
``train_minibatch_gd(loss_and_grads, params, X, y, learning_rate, batch_size, epochs, rng) -> losses``:
the lecture's mini-batch loop.
"""

from __future__ import annotations

import copy
import functools
import itertools

import numpy as np

from ..batchnorm import BatchNormCache, batchnorm_backward, batchnorm_forward
from ..gradcheck import rel_error
from ..layers import ACTIVATIONS, activation_forward, layer_backward, layer_forward
from ..mlp import MLP
from ..training import train_minibatch_gd
from .core import (Case, Mistake, Refused, describe, drawn, learner_facing, need_function, quiet, run, run_in_parts,
                   size)
from .implementing_batch_norm import forward_variant

#: The cache exercise 1 prescribes, item by item: exercise 2 unpacks it in this order.
CACHE_ITEMS = ("A_prev", "W", "bn_cache", "Z_tilde", "A", "activation")
_CACHE = f"({', '.join(CACHE_ITEMS)})"
#: The bn_helpers functions each exercise may call (any other, e.g. the package's layer_forward, is refused).
FORWARD_ALLOWED = ("batchnorm_forward", "activation_forward", "dense_forward")
BACKWARD_ALLOWED = ("batchnorm_backward", "activation_backward", "dense_backward")


def _f(a):
    return np.asarray(a, dtype=float)


# --- cases ----------------------------------------------------------------------------------------------------


def _layer_cases(rng=None):
    """The forward pass's cases: ReLU, sigmoid (m = 2) and tanh, and float32; inputs unlike units unlike examples."""
    return _draw(np.random.default_rng(9) if rng is None else rng, visible=rng is None)


def _backward_cases(rng=None):
    """The backward pass's cases: the forward pass's kinds (from their own seed), each with an upstream dA."""
    visible = rng is None
    rng = np.random.default_rng(31) if visible else rng
    cases = []
    for case in _draw(rng, visible):
        n, m = case.args[1].shape[0], case.args[0].shape[1]
        dA = (rng.normal(0.0, 1.0, (n, m)) / m).astype(case.args[0].dtype)  # a loss's gradient holds its 1/m
        cases.append(Case(case.name, (*case.args, dA), case.kwargs))
    return cases


def _draw(rng, visible):
    activation_names = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh"}

    def case(name, n_prev, n, m, activation, dtype=np.float64):
        A_prev = rng.normal(0.5, 1.0, (n_prev, m)).astype(dtype)
        W = (rng.normal(0.0, 1.0, (n, n_prev)) / np.sqrt(n_prev)).astype(dtype)
        gamma = rng.uniform(0.5, 2.0, (n, 1)).astype(dtype)
        beta = rng.uniform(-1.0, 1.0, (n, 1)).astype(dtype)
        return Case(name, (A_prev, W, gamma, beta), {"activation": activation})

    if visible:
        return [
            case("4 inputs, 3 units, 6 examples, ReLU", 4, 3, 6, "relu"),
            case("5 inputs, 2 units, m = 2, sigmoid", 5, 2, 2, "sigmoid"),
            case("3 inputs, 4 units, 7 examples, tanh", 3, 4, 7, "tanh"),
            case("float32, ReLU", 4, 3, 5, "relu", np.float32),
        ]
    # Hidden cases draw their shapes: inputs unlike units unlike examples (as the visible ones have them), so that
    # a transposed or swapped gradient has another shape; m = 2 where the kind says so.
    cases = []
    for m, activation, dtype in [(None, "relu", np.float64), (2, "sigmoid", np.float64), (None, "tanh", np.float64),
                                 (None, "relu", np.float32)]:  # fmt: skip
        n = size(rng, 2, 7)
        n_prev = size(rng, 2, 7, avoid=[n, m])
        m = m or size(rng, 3, 10, avoid=[n, n_prev])
        examples = "m = 2" if m == 2 else f"{m} examples"
        name = f"{n_prev} inputs, {n} units, {examples}, {activation_names[activation]}"
        name = "float32, ReLU" if dtype == np.float32 else name
        cases.append(case(name, n_prev, n, m, activation, dtype))
    return cases


# --- exercise 1: the forward pass and its cache -------------------------------------------------------------------


def _reference(A_prev, W, gamma, beta, activation="relu"):
    """The package's layer in float64: ``(A, cache)``, the cache as exercise 1 prescribes it."""
    return layer_forward(_f(A_prev), _f(W), _f(gamma), _f(beta), activation)


# The cache is compared item by item, and bn_cache by the three fields batchnorm_backward reads (Z_norm, inv_std,
# gamma): exactly what exercise 2's gradients depend on. A BatchNormCache from batchnorm_forward passes whatever
# precision the layer computed in (float32 within float32's bound) and whatever else it holds (mu, Z_centered); the
# cache of another z (of a_prev, say) fails with the field that differs named, which "batchnorm_backward gives the
# reference's gradients on it" would not say. Its type is part of the form (_form_problem): batchnorm_backward
# takes nothing but a BatchNormCache.
_CACHE_PARTS = ["cache[0], A_prev", "cache[1], W", "cache[2].Z_norm", "cache[2].inv_std", "cache[2].gamma",
                "cache[3], Z_tilde", "cache[4], A"]  # fmt: skip


def _parts(cache):
    A_prev, W, bn_cache, Z_tilde, A, _ = cache
    return A_prev, W, bn_cache.Z_norm, bn_cache.inv_std, bn_cache.gamma, Z_tilde, A


def _forward_ref(A_prev, W, gamma, beta, activation="relu"):
    return (_reference(A_prev, W, gamma, beta, activation)[0],)


def _cache_ref(A_prev, W, gamma, beta, activation="relu"):
    return _parts(_reference(A_prev, W, gamma, beta, activation)[1])


def _label(item, known):
    """What an item of a learner's cache is, in the exercise's names ("Z_tilde", "Z", "bn_cache"), else in words."""
    if isinstance(item, str):
        return "activation" if item == known["activation"] else repr(item)
    if isinstance(item, BatchNormCache):
        return "bn_cache"
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], BatchNormCache):
        return "(Z_tilde, bn_cache)"
    if isinstance(item, np.ndarray):
        # a loose bound: it names an item, distinct items differ by far more, and run() compares the values
        for name, value in known.items():
            if isinstance(value, np.ndarray) and item.shape == value.shape and np.issubdtype(item.dtype, np.number) \
                    and rel_error(value, _f(item)) < 1e-3:
                return name
    return describe(item)


def _known(A_prev, W, gamma, beta, activation="relu"):
    """What a layer's cache may hold, by name: the prescribed items, and what learners keep in their place."""
    A, (A_prev, W, _, Z_tilde, _, _) = _reference(A_prev, W, gamma, beta, activation)
    return {"A_prev": A_prev, "W": W, "Z_tilde": Z_tilde, "A": A, "Z": W @ A_prev, "gamma": _f(gamma),
            "beta": _f(beta), "activation": activation}  # fmt: skip


def _form(out, known):
    """The form of a layer_forward's output: the labels of its cache's items, or the label of what came instead."""
    if not (isinstance(out, tuple) and len(out) == 2):
        return (f"instead of (A, cache): {_label(out, known)}",)
    if not _is_tuple(out[1]):
        return (f"instead of the cache: {_label(out[1], known)}",)
    return tuple(_label(item, known) for item in out[1])


def _is_tuple(cache):
    """A tuple or list of items, as a cache should be (a BatchNormCache is a tuple too, but one item of the cache)."""
    return isinstance(cache, (tuple, list)) and not isinstance(cache, BatchNormCache)


def _same_form(a, b):
    """Two forms are the same mistake: equal, or both the prescribed items in another order than prescribed."""
    reordered = [sorted(f) == sorted(CACHE_ITEMS) and f != CACHE_ITEMS for f in (a, b)]
    return a == b or all(reordered)


def _form_problem(out, args, kwargs, mistakes):
    """What is wrong with the form of a layer_forward's output (None if it is ``(A, cache)`` as prescribed)."""
    if isinstance(out, tuple) and len(out) == 2:
        cache = out[1]
        kinds = [np.ndarray, np.ndarray, BatchNormCache, np.ndarray, np.ndarray, str]
        if _is_tuple(cache) and len(cache) == 6 and all(map(isinstance, cache, kinds)):
            activation = kwargs.get("activation", "relu")
            if cache[5] == activation:
                return None  # the values are compared by run()
    known = _known(*args, **kwargs)
    form = _form(out, known)
    if not (isinstance(out, tuple) and len(out) == 2):
        said = f"layer_forward must return a tuple of 2 (A, cache); got {describe(out)}."
    elif not _is_tuple(out[1]):
        said = f"layer_forward's cache must be the tuple {_CACHE}; got {describe(out[1])}."
    else:
        said = (f"your cache holds ({', '.join(form)}); exercise 1 prescribes {_CACHE}, in that order: "
                f"layer_backward unpacks it so.")  # fmt: skip
    named = []
    for mistake in mistakes:
        with np.errstate(all="ignore"):
            try:
                theirs = mistake.fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
            except Exception:  # a mistake that cannot run on this case does not match it
                continue
        if form != CACHE_ITEMS and _same_form(_form(theirs, known), form):
            named.append(f"\nLikely mistake: {mistake.message}")
    return said + "".join(named)


def _judged(fn, part, mistakes=()):
    """``fn`` as each of check_layer_forward's two runs judges it: ``(A,)``, or the parts of its cache.

    The form of the output (a tuple ``(A, cache)``, the cache's six items of
    the right kinds) is a verdict of its own, said in words, with the
    catalogued mistakes of that form (``mistakes``).
    """

    def judged(A_prev, W, gamma, beta, activation="relu"):
        args, kwargs = copy.deepcopy((A_prev, W, gamma, beta)), {"activation": activation}  # before fn may change them
        out = fn(A_prev, W, gamma, beta, activation=activation)
        if part == "A" and isinstance(out, tuple) and len(out) == 2:
            return (out[0],)  # the A run asks no more of the form
        problem = _form_problem(out, args, kwargs, mistakes)
        if problem:
            raise Refused(problem)
        return (out[0],) if part == "A" else _parts(out[1])

    judged.__name__ = getattr(fn, "__name__", "layer_forward")
    return judged


def _layer(normalize, activate=True, before=False, keep_Z=False):
    """A learner's layer_forward with pieces swapped out: the engine of the value mistakes below.

    ``normalize(Z, gamma, beta) -> Z_tilde`` (batch norm, or a mistaken
    version of it); ``activate=False`` returns z_tilde as A; ``before`` applies
    the activation first; ``keep_Z`` keeps z where the cache holds z_tilde.
    """

    def fn(A_prev, W, gamma, beta, activation="relu"):
        Z = _f(W) @ _f(A_prev)
        bn_input = activation_forward(Z, activation) if before else Z
        _, bn_cache = batchnorm_forward(bn_input, gamma, beta)
        Z_tilde = normalize(bn_input, gamma, beta)
        A = Z_tilde if before or not activate else activation_forward(Z_tilde, activation)
        return A, (A_prev, W, bn_cache, Z if keep_Z else Z_tilde, A, activation)

    return fn


def _bn(Z, gamma, beta):
    return forward_variant()(Z, gamma, beta)[0]


def _normalize_input(A_prev, W, gamma, beta, activation="relu"):
    """The layer's input normalized (each feature over the examples) instead of z = W a_prev."""
    n_prev = np.shape(A_prev)[0]
    A_norm, bn_cache = batchnorm_forward(_f(A_prev), np.ones((n_prev, 1)), np.zeros((n_prev, 1)))
    Z_tilde = gamma * (_f(W) @ A_norm) + beta
    A = activation_forward(Z_tilde, activation)
    return A, (A_prev, W, bn_cache, Z_tilde, A, activation)


def _cache_form(order=CACHE_ITEMS, bn_whole=False, only_A=False):
    """A learner's layer_forward, right but for the form of what it returns: the engine of the cache's form mistakes.

    ``order``: the names of the items it keeps, in its order (one name: that
    item alone is the cache); ``bn_whole`` keeps batchnorm_forward's whole
    return value where bn_cache goes; ``only_A`` returns A alone.
    """

    def fn(A_prev, W, gamma, beta, activation="relu"):
        A, cache = _reference(A_prev, W, gamma, beta, activation)
        if only_A:
            return A
        items = dict(zip(CACHE_ITEMS, cache))
        if bn_whole:
            items["bn_cache"] = (items["Z_tilde"], items["bn_cache"])
        return A, items[order] if isinstance(order, str) else tuple(items[name] for name in order)

    return fn


# numpy's words when a tuple (Z_tilde, cache) reaches an activation or an arithmetic operation
_UNPACK = ("Did a tuple reach the activation? batchnorm_forward returns (Z_tilde, cache): unpack it, "
           "`Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta)`, and pass Z_tilde on.")
_FORWARD_HINTS = [("inhomogeneous", _UNPACK),
                  ("matmul", "Check the shapes of the product: z = W @ A_prev, (n_l, n_prev) @ (n_prev, m).")]

LAYER_FORWARD_MISTAKES = [
    # what A is
    Mistake("your activation comes before batch norm. The course normalizes z = W a_prev, then applies "
            "g to z_tilde: a = g(gamma * z_norm + beta).", _layer(_bn, before=True)),
    Mistake("you return z_tilde: apply the activation g to it.", _layer(_bn, activate=False)),
    Mistake("you normalize the layer's input a_prev instead of z = W a_prev.", _normalize_input),
    Mistake("your batch statistics are taken over the wrong axis: normalize each unit (row) over the examples, axis=1.",
            _layer(lambda Z, g, b: forward_variant(axis=0)(Z, g, b)[0])),
    Mistake("gamma and beta are left out: the layer's output is g(z_tilde) with z_tilde = gamma * z_norm + beta, "
            "so that training can choose each unit's mean and spread.",
            _layer(lambda Z, g, b: forward_variant(affine="none")(Z, g, b)[0])),
    # what the cache holds
    Mistake("your cache holds z = W a_prev where z_tilde goes: layer_backward takes the activation's derivative at "
            "its input, z_tilde = gamma * z_norm + beta, so the cache keeps Z_tilde.", _layer(_bn, keep_Z=True)),
    Mistake(f"you return A alone: return (A, cache), with cache = {_CACHE}, which layer_backward needs.",
            _cache_form(only_A=True)),
    Mistake(f"your cache holds the right items in another order: pack them as exercise 1 prescribes, {_CACHE}, "
            f"the order in which layer_backward unpacks them.", _cache_form(order=("W", "A_prev", *CACHE_ITEMS[2:]))),
    Mistake(f"your cache lacks the activation's name: layer_backward needs it to take the right derivative, "
            f"cache = {_CACHE}.", _cache_form(order=CACHE_ITEMS[:5])),
    Mistake("your cache keeps batchnorm_forward's whole return value, (Z_tilde, bn_cache), where bn_cache goes: "
            "unpack it, `Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta)`, and keep bn_cache.",
            _cache_form(bn_whole=True)),
    Mistake(f"your cache is batchnorm_forward's cache alone: layer_backward needs the layer's cache, which holds it "
            f"among the rest, {_CACHE}.", _cache_form(order="bn_cache")),
]


def _on(part, mistakes):
    """The catalogue as one run judges it: each mistake's A, or its cache's parts (see :func:`_judged`)."""
    return [Mistake(m.message, _judged(m.fn, part)) for m in mistakes]


@learner_facing(points=2)
def check_layer_forward(fn, hidden=False):
    """Check ``fn(A_prev, W, gamma, beta, activation="relu") -> (A, cache)``: ``A = g(batch norm of W @ A_prev)``.

    Shapes: ``A_prev`` ``(n_prev, m)``, ``W`` ``(n_l, n_prev)``, ``gamma``,
    ``beta`` ``(n_l, 1)``, ``A`` ``(n_l, m)``; batch norm with ``eps=1e-5``,
    no bias. Both ``A`` and the cache exercise 1 prescribes, ``(A_prev, W,
    bn_cache, Z_tilde, A, activation)`` with ``bn_cache`` from
    ``batchnorm_forward``, are compared, each case twice (the score counts
    both): :func:`check_layer_backward` relies on that cache.
    """
    title = "check_layer_forward"
    need_function(fn, title, "check_layer_forward(layer_forward)", allowed=FORWARD_ALLOWED)
    cases = drawn(_layer_cases, hidden)
    run_in_parts(title, cases, [
        functools.partial(run, title, _judged(fn, part, LAYER_FORWARD_MISTAKES), reference, cases,
                          _on(part, LAYER_FORWARD_MISTAKES), names, hints=_FORWARD_HINTS)
        for part, reference, names in [("A", _forward_ref, ["A"]), ("cache", _cache_ref, _CACHE_PARTS)]
    ], f"Your cache {_CACHE}")  # fmt: skip


# --- exercise 2: the backward pass, through the cache --------------------------------------------------------------


def _backward_ref(A_prev, W, gamma, beta, dA, activation="relu"):
    return layer_backward(_f(dA), _reference(A_prev, W, gamma, beta, activation)[1])


def backward_variant(g_at="Z_tilde", gamma_beta_from="dZ_tilde", dW="right", dA_prev="right", order="right"):
    """A learner's layer_backward with the settings given: the engine of the catalogue below.

    Returns ``fn(A_prev, W, gamma, beta, dA, activation="relu") -> (dA_prev,
    dW, dgamma, dbeta)`` (the layer's forward pass runs inside, as the
    package's). The defaults are right; each other setting is a mistake:

    - ``g_at``: where the activation's derivative is taken: "Z_tilde", "none"
      (left out: batch norm's backward gets dA), "A" (g'(A), i.e. g computed
      again on A), "Z" (before batch norm);
    - ``gamma_beta_from``: "dZ_tilde", or "dA";
    - ``dW``: "right" ``dZ @ A_prev.T``, "transposed" ``A_prev @ dZ.T``,
      "skips_bn" ``dZ_tilde @ A_prev.T``, "mean" (an extra 1/m);
    - ``dA_prev``: "right" ``W.T @ dZ``, "skips_bn" ``W.T @ dZ_tilde``,
      "transposed" ``dZ.T @ W``;
    - ``order``: "right", or "swapped" (dW first, then dA_prev).
    """

    def fn(A_prev, W, gamma, beta, dA, activation="relu"):
        A_prev, W, dA = _f(A_prev), _f(W), _f(dA)
        Z = W @ A_prev
        Z_tilde, bn_cache = batchnorm_forward(Z, _f(gamma), _f(beta))
        A = activation_forward(Z_tilde, activation)
        derivative = ACTIVATIONS[activation][1]  # g' written in terms of its input and g of it
        at = {"Z_tilde": Z_tilde, "A": A, "Z": Z}
        dZ_tilde = dA if g_at == "none" else dA * derivative(at[g_at], activation_forward(at[g_at], activation))
        dZ, dgamma, dbeta = batchnorm_backward(dZ_tilde, bn_cache)
        if gamma_beta_from == "dA":
            dgamma, dbeta = (dA * bn_cache.Z_norm).sum(axis=1, keepdims=True), dA.sum(axis=1, keepdims=True)
        m = dA.shape[1]
        dWs = {"right": dZ @ A_prev.T, "transposed": A_prev @ dZ.T, "skips_bn": dZ_tilde @ A_prev.T,
               "mean": dZ @ A_prev.T / m}  # fmt: skip
        dA_prevs = {"right": W.T @ dZ, "skips_bn": W.T @ dZ_tilde, "transposed": dZ.T @ W}
        first, second = dA_prevs[dA_prev], dWs[dW]
        return (second, first, dgamma, dbeta) if order == "swapped" else (first, second, dgamma, dbeta)

    return fn


def _backward(message, **options):
    return Mistake(message, backward_variant(**options), options)


LAYER_BACKWARD_MISTAKES = [
    _backward("your dZ_tilde is dA itself: the activation's derivative is left out. a = g(z_tilde), so "
              "dZ_tilde = dA * g'(z_tilde), `activation_backward(dA, Z_tilde, A, activation)`, and batch norm's "
              "backward takes dZ_tilde.", g_at="none"),
    _backward("your activation's derivative is taken at A instead of at Z_tilde: g'(A) computes g again on "
              "a = g(z_tilde) (e.g. sigmoid(A) * (1 - sigmoid(A))). Take it at the activation's input, "
              "`activation_backward(dA, Z_tilde, A, activation)` (for the sigmoid that is A * (1 - A)).", g_at="A"),
    _backward("your activation's derivative is taken at z = W a_prev, before batch norm: the activation's input is "
              "z_tilde, so dZ_tilde = dA * g'(z_tilde), `activation_backward(dA, Z_tilde, A, activation)`.",
              g_at="Z"),
    _backward("your dgamma and dbeta come from dA: gamma and beta act before the activation, so their gradients "
              "come from dZ_tilde = dA * g'(z_tilde): `dZ, dgamma, dbeta = batchnorm_backward(dZ_tilde, bn_cache)`.",
              gamma_beta_from="dA"),
    _backward("your dW is transposed: A_prev @ dZ.T has shape (n_prev, n_l); dW has W's shape, (n_l, n_prev): "
              "dW = dZ @ A_prev.T.", dW="transposed"),
    _backward("your dW comes from dZ_tilde, skipping batch norm's backward: W acts through z = W a_prev, which "
              "batch norm turns into z_tilde, so dW = dZ @ A_prev.T with "
              "`dZ, dgamma, dbeta = batchnorm_backward(dZ_tilde, bn_cache)`.", dW="skips_bn"),
    _backward("your dW is exactly 1/m of the expected: it averages over the examples twice. dA already holds the "
              "loss's 1/m, so dW = dZ @ A_prev.T, the sum over the examples, with no more 1/m.", dW="mean"),
    _backward("your dA_prev comes from dZ_tilde, skipping batch norm's backward: a_prev acts through "
              "z = W a_prev, so dA_prev = W.T @ dZ, with dZ from `batchnorm_backward(dZ_tilde, bn_cache)`.",
              dA_prev="skips_bn"),
    _backward("your dA_prev is transposed: dZ.T @ W has shape (m, n_prev); dA_prev has A_prev's shape, "
              "(n_prev, m): dA_prev = W.T @ dZ.", dA_prev="transposed"),
    _backward("your dA_prev and dW are swapped: return (dA_prev, dW, dgamma, dbeta), in that order.", order="swapped"),
]

_UNPACKS = (f"Does your layer_backward unpack the cache in the order layer_forward packs it, {_CACHE}? "
            f"`A_prev, W, bn_cache, Z_tilde, A, activation = cache`.")  # fmt: skip
# numpy's and bn_helpers' words for a product of the wrong shapes, and for an item of the cache taken for another
# (batchnorm_backward given an array; activation_backward given an array for the activation's name)
_BACKWARD_HINTS = [
    ("matmul", "Check the shapes of each product: dW = dZ @ A_prev.T, (n_l, m) @ (m, n_prev) -> (n_l, n_prev); "
               "dA_prev = W.T @ dZ, (n_prev, n_l) @ (n_l, m) -> (n_prev, m)."),
    ("BatchNormCache", _UNPACKS),
    ("unhashable", _UNPACKS),
    ("values to unpack", "The cache has 6 items: `A_prev, W, bn_cache, Z_tilde, A, activation = cache`."),
]


def _gradients_of(out):
    """The learner's four gradients, or a message saying what came instead (a db too, a tuple of another size)."""
    names = "(dA_prev, dW, dgamma, dbeta)"
    if not isinstance(out, tuple) or len(out) != 4:
        extra = (" The layer has no b (batch norm's beta does its work), so there is no db to return."
                 if isinstance(out, tuple) and len(out) == 5 else "")  # fmt: skip
        raise AssertionError(f"layer_backward must return a tuple of 4 {names}; got {describe(out)}.{extra}")
    return out


def _cache_order(forward_fn, backward_fn, case):
    """A message when the learner's backward unpacks the cache in another order than the cache is packed."""
    A_prev, W, gamma, beta, dA = copy.deepcopy(case.args)
    try:
        cache = forward_fn(A_prev, W, gamma, beta, **case.kwargs)[1]
    except Exception:  # the forward pass was checked already: this cannot be what is wrong
        return []
    expected = _backward_ref(*case.args, **case.kwargs)
    for i, j in itertools.combinations(range(len(cache)), 2):
        swapped = list(cache)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        try:
            with np.errstate(all="ignore"):
                got = backward_fn(dA.copy(), tuple(swapped))
            right = len(got) == len(expected) and all(
                np.shape(g) == np.shape(e) and np.allclose(g, e, rtol=1e-6, atol=1e-12) for g, e in zip(got, expected))
        except Exception:
            continue
        if right:
            return [f"your {getattr(backward_fn, '__name__', 'layer_backward')} unpacks the cache in another order "
                    f"than it is packed: with {CACHE_ITEMS[i]} and {CACHE_ITEMS[j]} (items {i} and {j}) swapped, it "
                    f"returns the right gradients. Unpack in the order of the cache: "
                    f"`A_prev, W, bn_cache, Z_tilde, A, activation = cache`."]  # fmt: skip
    return []


@learner_facing(points=3)
def check_layer_backward(forward_fn, backward_fn, hidden=False):
    """Check ``backward_fn(dA, cache) -> (dA_prev, dW, dgamma, dbeta)``, with ``cache`` from your ``forward_fn``.

    Shapes: ``dA`` ``(n_l, m)``, ``dA_prev`` ``(n_prev, m)``, ``dW``
    ``(n_l, n_prev)``, ``dgamma`` and ``dbeta`` ``(n_l, 1)``; ``dA`` holds the
    loss's 1/m already, and the layer has no b, so no db. The forward pass is
    checked first (silently). While it is not right (or not written), the
    backward pass is judged on its own: it is given the cache exercise 1
    prescribes, ``(A_prev, W, bn_cache, Z_tilde, A, activation)``, computed by
    the package, so that one mistake costs one exercise.
    """
    title = "check_layer_backward"
    example = "check_layer_backward(layer_forward, layer_backward)"
    need_function(forward_fn, title, example, allowed=FORWARD_ALLOWED)
    need_function(backward_fn, title, example, allowed=BACKWARD_ALLOWED)
    try:
        with quiet():
            check_layer_forward.__wrapped__(forward_fn)  # the verdict as an exception
        forward_right = True
    except (AssertionError, NotImplementedError):
        forward_right = False
    forward = forward_fn if forward_right else _reference

    def via_the_cache(A_prev, W, gamma, beta, dA, activation="relu"):
        return backward_fn(dA, forward(A_prev, W, gamma, beta, activation=activation)[1])

    note = (f"Your {getattr(forward_fn, '__name__', 'forward pass')} does not pass its check yet, so your "
            f"{getattr(backward_fn, '__name__', 'backward pass')} was given the cache exercise 1 asks for, "
            f"{_CACHE}, computed by bn_helpers.")  # fmt: skip
    cases = drawn(_backward_cases, hidden)
    try:
        run(title, via_the_cache, _backward_ref, cases, LAYER_BACKWARD_MISTAKES, ["dA_prev", "dW", "dgamma", "dbeta"],
            select=_gradients_of, build=lambda **options: backward_variant(**options),
            diagnose=lambda case, got: _cache_order(forward, backward_fn, case), hints=_BACKWARD_HINTS)  # fmt: skip
    except AssertionError as err:
        if forward_right:
            raise
        noted = AssertionError(f"{err}\n{note}")
        noted.passed, noted.total = getattr(err, "passed", 0), getattr(err, "total", 1)
        raise noted from err.__cause__
    if not forward_right and cases.seed is None:  # said once, by the visible check
        print(note)


# --- the mini-batch loop --------------------------------------------------------------------------------

# The hint for a mini-batch cut from the rows: MLP's forward pass names the shape it got.
_COLUMNS = ("X holds one example per column, course layout (n_x, m): a mini-batch is X[:, idx], with its labels "
            "y[idx].")


def _loop_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(21) if rng is None else rng

    def case(name, m, batch_size, epochs, learning_rate, batchnorm=True):
        # a network of n_x inputs, one hidden layer of n_1 units, n_2 classes: 4, 5, 3 in the visible cases
        n_x, n_1, n_2 = (4, 5, 3) if visible else (size(rng, 2, 6), size(rng, 2, 6), size(rng, 2, 4))
        X = rng.normal(0.0, 1.0, (n_x, m))
        y = rng.integers(0, n_2, m)
        seed = int(rng.integers(2**31))
        return Case(name, ((n_x, n_1, n_2), batchnorm, seed, X, y, learning_rate, batch_size, epochs))

    if visible:
        return [
            case("10 examples in batches of 4 (the last holds 2), 2 epochs", 10, 4, 2, 0.5),
            case("12 examples in batches of 3, 3 epochs", 12, 3, 3, 0.2),
            case("a network without batch norm (b1, b2): 9 examples in batches of 3, 2 epochs", 9, 3, 2, 0.5, False),
        ]
    # Hidden cases: sizes drawn, a smaller last batch of at least 2 (batch norm needs 2 examples) in the first.
    b = size(rng, 3, 5)
    return [
        case(f"{2 * b + 2} examples in batches of {b} (the last holds 2), 2 epochs", 2 * b + 2, b, 2, 0.5),
        case(f"{3 * b} examples in batches of {b}, 3 epochs", 3 * b, b, 3, 0.2),
        case(f"a network without batch norm (b1, b2): {3 * b} examples in batches of {b}, 2 epochs", 3 * b, b, 2,
             0.5, False),
    ]  # fmt: skip


def _loop_net(sizes, batchnorm, seed):
    n_x, n_1, n_2 = sizes
    return MLP([n_x, n_1, n_2], batchnorm=batchnorm, rng=np.random.default_rng(seed), activation="tanh")


def _run_loop(loop):
    """Train a fresh small network with ``loop`` (a learner's ``train_minibatch_gd``): its losses and final parameters.

    Refuses a loop that replaces an array of ``params`` instead of changing
    it: the network holds the old array, so it would never see the step.
    """

    def fn(sizes, batchnorm, seed, X, y, learning_rate, batch_size, epochs):
        net = _loop_net(sizes, batchnorm, seed)
        held = dict(net.params)
        losses = loop(net.loss_and_grads, net.params, X, y, learning_rate, batch_size, epochs,
                      np.random.default_rng(seed + 1))  # fmt: skip
        replaced = [k for k, a in held.items() if net.params.get(k) is not a]
        if replaced:
            raise Refused(f"params[{replaced[0]!r}] is a new array after your loop, so the network, which holds the "
                          f"old one, never saw the steps. `params[name] = params[name] - ...` makes a new array; "
                          f"`params[name] -= ...` changes the one in params in place.")  # fmt: skip
        if losses is None:
            raise Refused("your loop returns None: return the list of the mini-batch losses, one per step.")
        # Two groups of parameters, so that a loop which updates only some of them is seen in one group.
        weights = np.concatenate([a.ravel() for k, a in held.items() if k.startswith("W")])
        others = np.concatenate([a.ravel() for k, a in held.items() if not k.startswith("W")])
        return np.asarray(losses, dtype=float), weights, others

    return fn


def _loop_ref(sizes, batchnorm, seed, X, y, learning_rate, batch_size, epochs):
    return _run_loop(train_minibatch_gd)(sizes, batchnorm, seed, X, y, learning_rate, batch_size, epochs)


def _loop(order="epoch", last=True, update="all", scale=None, full_batch=False):
    """A mini-batch loop with one thing done another way: the engine of the mistakes below.

    ``order``: "epoch" (one permutation per epoch), "none" (no shuffling),
    "once" (one permutation for all epochs), "separate" (X and y shuffled by
    two permutations), "per_batch" (a new permutation for every mini-batch);
    ``last``: keep the smaller last mini-batch; ``update``: "all", "W" (only
    the weights), "ascent"; ``scale="batch"`` divides each step by the batch
    size (averaging a second time); ``full_batch``: one step per epoch on all examples.
    """

    def loop(loss_and_grads, params, X, y, learning_rate, batch_size, epochs, rng):
        m = X.shape[1]
        losses, fixed = [], rng.permutation(m) if order == "once" else None
        factor = 1.0 / batch_size if scale == "batch" else 1.0
        for _ in range(epochs):
            if full_batch:
                batches = [np.arange(m)]
            else:
                idx = {"epoch": lambda: rng.permutation(m), "none": lambda: np.arange(m), "once": lambda: fixed,
                       "separate": lambda: rng.permutation(m), "per_batch": lambda: None}[order]()  # fmt: skip
                y_idx = rng.permutation(m) if order == "separate" else idx
                stop = m if last else m - m % batch_size
                batches = []
                for start in range(0, stop, batch_size):
                    if order == "per_batch":
                        batches.append(rng.permutation(m)[:batch_size])
                    else:
                        batches.append((idx[start : start + batch_size], y_idx[start : start + batch_size]))
            for b in batches:
                cols, y_cols = b if isinstance(b, tuple) else (b, b)
                loss, grads = loss_and_grads(X[:, cols], y[y_cols])
                for name, p in params.items():
                    if update != "W" or name.startswith("W"):
                        step = learning_rate * factor * grads[name]
                        if update == "ascent":
                            p += step
                        else:
                            p -= step
                losses.append(loss)
        return losses

    return _run_loop(loop)


LOOP_MISTAKES = [
    Mistake("your loop does not shuffle: draw a new order of the examples at the start of every epoch, "
            "order = rng.permutation(m), and take the mini-batches in that order.", _loop(order="none")),
    Mistake("your loop shuffles once, before the epochs, so every epoch sees the same mini-batches: draw the order "
            "inside the loop over epochs, with rng.permutation(m) at the start of each.", _loop(order="once")),
    Mistake("your X and y are shuffled by two different permutations, so the labels no longer belong to their "
            "examples: draw one order and index both with it, X[:, idx] and y[idx].", _loop(order="separate")),
    Mistake("your loop draws a new permutation for every mini-batch, so an epoch does not see each example once: "
            "draw one order per epoch and cut it into consecutive mini-batches.", _loop(order="per_batch")),
    Mistake("your loop skips the last, smaller mini-batch: when m is not a multiple of batch_size, the last "
            "mini-batch holds the remaining examples (range(0, m, batch_size) and order[start:start + batch_size]).",
            _loop(last=False)),
    Mistake("your loop updates only the W's. gamma and beta (and b) are parameters too: every entry of params takes "
            "a step against its own gradient.", _loop(update="W")),
    Mistake("your loop steps up the gradient: params[name] -= learning_rate * grads[name] (minus, to lower the loss).",
            _loop(update="ascent")),
    Mistake("your steps are batch_size times too small: the loss is already a mean over the mini-batch, so its "
            "gradients are too; don't divide by the batch size again.", _loop(scale="batch")),
    Mistake("your loop takes one step per epoch on all the examples (full-batch gradient descent): cut each epoch "
            "into mini-batches of batch_size examples and take a step on each.", _loop(full_batch=True)),
]


@learner_facing(points=3)
def check_train_minibatch_gd(fn, hidden=False):
    """Check ``fn(loss_and_grads, params, X, y, learning_rate, batch_size, epochs, rng) -> losses``: the lecture's loop.

    Each case trains a small network (``MLP``, with and without batch norm)
    with ``fn`` from a fixed start and compares the mini-batch losses and the
    final parameters with :func:`bn_helpers.train_minibatch_gd`: one
    ``rng.permutation(m)`` per epoch, mini-batches of ``batch_size`` columns
    in that order (the last may be smaller), ``params[name] -= learning_rate
    * grads[name]`` in place for every parameter, one loss per step.
    """
    need_function(fn, "check_train_minibatch_gd", "check_train_minibatch_gd(train_minibatch_gd)")
    cases = drawn(_loop_cases, hidden)
    names = ["the mini-batch losses", "the final W's", "the final gamma, beta and b"]
    run("check_train_minibatch_gd", _run_loop(fn), _loop_ref, cases, LOOP_MISTAKES, names,
        hints=[("X must have shape", _COLUMNS), ("out of bounds for axis 0", _COLUMNS)])  # fmt: skip
