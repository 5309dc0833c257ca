"""Hidden cases draw their shapes as well as their values; the visible cases stay exactly as the notebooks print them.

A grade cell's ``check_x(fn, hidden=True)`` judges cases "of the same kinds"
as the visible ones, drawn afresh: new values, and new numbers of units,
examples, channels, positions and groups, within what each kind means (``m =
2`` stays 2, a single example stays one). So a function written for the
visible shapes (a loop over a hard-coded number of units, a reshape to a fixed
size) passes the visible check and loses points on the hidden one, while a
right function passes both, and every catalogued mistake stays as visible in
a hidden case as in the visible case of its kind.
"""

from __future__ import annotations

import hashlib
import re
import warnings

import numpy as np
import pytest

from bn_helpers import checks
from bn_helpers.checks import core
from bn_helpers.checks import after_training as n08
from bn_helpers.checks import at_test_time as n06
from bn_helpers.checks import fitting_batch_norm as n03
from bn_helpers.checks import implementing_batch_norm as n02
from bn_helpers.checks import mini_batches as n04
from bn_helpers.checks import normalizing_inputs as n01
from bn_helpers.checks import other_axes as n07
from bn_helpers.checks import why_batch_norm_works as n05

import test_checks  # the right implementations, as the notebooks' solutions write them
import test_checks_06_layer
import test_checks_07
import test_checks_08

BUILDERS = {
    "normalize": n01._normalize_cases, "forward": n02._forward_cases, "backward": n02._backward_cases,
    "layer_forward": n03._layer_cases, "momentum": n04._momentum_cases, "adam": n04._adam_cases,
    "noise": n05._noise_cases,
    "inference": n06._inference_cases, "ewa": n06._ewa_cases, "bn_layer": n06._layer_cases,
    "layernorm": n07._layernorm_cases, "ln_backward": n07._ln_backward_cases, "spatial": n07._spatial_cases, "groupnorm": n07._groupnorm_cases, "fold": n08._fold_cases,
    "combine": n08._combine_cases,
}  # fmt: skip

# --- (a) the visible cases are those the notebooks' stored outputs print, bit for bit ----------------------------

#: Each builder's visible cases as they were before the hidden cases drew their shapes: their names, and a digest
#: of every name, array (dtype, shape, bytes), number, keyword argument and bound (see :func:`_digest`).
VISIBLE = {
    "normalize": (["3 features on very different scales; 40 training, 15 test examples",
                   "a large offset (values near 1e6)", "integer input",
                   "a constant feature (variance 0, like a pixel that is always blank)"], "b3f408993c288240"),
    "forward": (["3 units x 5 examples, non-trivial gamma and beta", "m = 2 examples", "a large offset (values near 1e8)",
                 "a unit of tiny variance (std 1e-4, below sqrt(eps))", "eps = 0.1", "float32 input", "integer input"],
                "7170fa50fcf8b6ae"),
    "backward": (["3 units x 5 examples, non-trivial gamma and beta",
                  "m = 2 examples, eps = 0.5 (so the gradient is not tiny)", "values near 10 with spread 1",
                  "one unit, 8 examples"], "87820f52d4b00738"),
    "layer_forward": (["4 inputs, 3 units, 6 examples, ReLU", "5 inputs, 2 units, m = 2, sigmoid",
                       "3 inputs, 4 units, 7 examples, tanh", "float32, ReLU"], "0a50a1f0435be35b"),
    "momentum": (["3 steps, learning rate 0.1, momentum 0.9", "3 steps, learning rate 0.5, momentum 0.5",
                  "3 steps, momentum 0 (plain gradient descent)"], "f1a58d8ce5e316aa"),
    "adam": (["steps t = 1, 2, 3 with Adam's defaults (learning rate 0.001, beta1 0.9, beta2 0.999)",
              "steps t = 1, 2, 3, learning rate 0.01, beta1 0.5, beta2 0.9",
              "steps t = 1, 2, 3, gradients of about 1e-6, where eps matters"], "c420676ca353ec10"),
    "noise": (["10 batches of 8", "5 batches of m = 2", "a large offset (values near 1e6), 6 batches of 5",
               "eps = 0.5"], "36658c1183c0e7c7"),
    "inference": (["3 units x 5 examples", "a single example (m = 1)", "a running variance near 0", "float32 input",
                   "integer input"], "526fcf693e41e6c5"),
    "ewa": (["arrays of shape (3, 1), beta = 0.99", "numbers: average 0.0, value 5.0, beta = 0.9",
             "beta = 0 (the average becomes the value)", "the default beta (0.9)", "integer values"],
            "f0a44d58784e5fb7"),
    "bn_layer": (["3 units, the default settings (eps = 1e-5, ewa_beta = 0.9, biased running variance)",
                  "7 units, ewa_beta = 0.5, unbiased_running_var = True",
                  "3 units, eps = 0.1, ewa_beta = 0.99, unbiased_running_var = False"], "ab4fe632e6634f74"),
    "layernorm": (["5 units x 3 examples, non-trivial gamma and beta", "a single example (m = 1)",
                   "examples on very different scales", "eps = 0.1", "float32 input"], "53a7134f5182fbb5"),
    "ln_backward": (['5 units x 3 examples, non-trivial gamma and beta', 'a single example (m = 1), 4 units', '2 units (the smallest layer), 6 examples', 'eps = 0.5 (so that eps shows in the gradient), 3 x 4'], "6d9af71d7b34840e"),
    "spatial": (["2 examples of 3 x 3 positions, 4 channels, non-trivial gamma and beta",
                 "a single example (m = 1) of 2 x 3 positions",
                 "3 examples of 2 x 4 positions (n_H unlike n_W), 3 channels", "eps = 0.1", "float32 input"],
                "bca5e8eb1d347623"),
    "groupnorm": (["2 examples of 3 x 3 positions, 6 channels in 3 groups", "4 channels in 2 groups, 3 examples of 2 x 4",
                   "one group (layer norm over positions and channels)",
                   "a single example (m = 1), 6 channels in 2 groups", "eps = 0.1", "float32 input"],
                  "9935c0a763b0c5e5"),
    "fold": (["W 4 x 4, with b", "W 3 x 5 (3 units, 5 inputs), with b", "b = None (a layer with batch norm has no b)",
              "a running variance below eps", "eps = 0.1", "float32"], "68c6590fd83f36da"),
    "combine": (["unequal shards (2, 10, 4 examples), different means", "4 devices of 8 examples",
                 "devices whose means differ (0, 3, -2)", "one device", "a large offset (values near 1e6)"],
                "e1c4bd3aff51a03d"),
}  # fmt: skip


def _feed(h, x):
    """Everything about ``x`` that a case passes on: types, dtypes, shapes, bytes, values, in order."""
    if isinstance(x, np.ndarray):
        h.update(f"a{x.dtype.str}{x.shape}".encode())
        h.update(np.ascontiguousarray(x).tobytes())
    elif isinstance(x, dict):
        h.update(b"d")
        for k, v in x.items():
            h.update(repr(k).encode())
            _feed(h, v)
    elif isinstance(x, (list, tuple)):
        h.update(f"l{type(x).__name__}{len(x)}".encode())
        for v in x:
            _feed(h, v)
    else:
        h.update(f"s{type(x).__name__}:{x!r}".encode())


def _digest(cases):
    h = hashlib.sha256()
    for case in cases:
        for part in (case.name, case.args, case.kwargs, case.tol):
            _feed(h, part)
    return h.hexdigest()[:16]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_the_visible_cases_are_unchanged(name):
    names, digest = VISIBLE[name]
    cases = BUILDERS[name]()
    assert [case.name for case in cases] == names
    assert _digest(cases) == digest  # the same arrays, numbers, keyword arguments and bounds, in the same order
    assert _digest(BUILDERS[name]()) == digest  # and the same every time


# --- hidden cases: the same kinds, other shapes -------------------------------------------------------------------


def _shapes(case):
    return [np.shape(a) for a in case.args if isinstance(a, np.ndarray)] + [
        np.shape(b) for a in case.args if isinstance(a, (list, tuple)) for b in a if isinstance(b, np.ndarray)]


def _pattern(name):
    """A case's name with its numbers (and lists of numbers) replaced: its kind."""
    return re.sub(r"-?\d+(\.\d+)?(, -?\d+(\.\d+)?)*", "#", name)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_hidden_cases_are_as_many_and_of_the_same_kinds_with_shapes_drawn(name):
    visible = BUILDERS[name]()
    drawn = [core.drawn(BUILDERS[name], seed) for seed in range(20)]
    for cases in drawn:
        assert len(cases) == len(visible)
        for v, h in zip(visible, cases):
            assert _pattern(h.name) == _pattern(v.name), (v.name, h.name)  # a name for a shape names the drawn shape
            assert list(h.kwargs) == list(v.kwargs) and (h.tol is None) == (v.tol is None), (name, h.name)
    if name in ("momentum", "adam"):  # the network's sizes are drawn
        shapes = {tuple(np.shape(p) for case in cases for p in case.args[0].values()) for cases in drawn}
    else:
        shapes = {tuple(tuple(_shapes(case)) for case in cases) for cases in drawn}
    assert len(shapes) > len(drawn) // 2  # the shapes vary from one draw to the next
    assert tuple(tuple(_shapes(case)) for case in visible) not in shapes


def test_the_kinds_keep_their_defining_sizes():
    for seed in range(30):
        f = core.drawn(n02._forward_cases, seed)
        assert f[1].args[0].shape[1] == 2 and all(c.args[0].shape[1] >= 2 for c in f)  # batch statistics need m >= 2
        n, m = f[0].args[0].shape
        assert f[0].name == f"{n} units x {m} examples, non-trivial gamma and beta" and n != m
        b = core.drawn(n02._backward_cases, seed)
        assert b[1].args[0].shape[1] == 2 and b[3].args[0].shape[0] == 1
        assert b[3].name == f"one unit, {b[3].args[0].shape[1]} examples"
        i = core.drawn(n06._inference_cases, seed)
        assert i[1].args[0].shape[1] == 1 and i[0].name == "{} units x {} examples".format(*i[0].args[0].shape)
        assert i[2].args[4].min() < 1e-5  # a running variance below eps
        ln = core.drawn(n07._layernorm_cases, seed)
        assert ln[1].args[0].shape[1] == 1 and all(c.args[0].shape[0] >= 2 for c in ln)
        for case in core.drawn(n07._groupnorm_cases, seed):
            X, groups = case.args[0], case.args[3]
            m, n_H, n_W, n_C = X.shape
            assert n_C % groups == 0 and n_H * n_W >= 2 and case.args[1].shape == (1, 1, 1, n_C)
            assert (groups == 1) == case.name.startswith("one group") and (m == 1) == case.name.startswith("a single")
        g = core.drawn(n07._groupnorm_cases, seed)
        assert g[0].args[0].shape[-1] != g[0].args[3] ** 2 and g[1].args[0].shape[1] != g[1].args[0].shape[2]
        layer = core.drawn(n06._layer_cases, seed)
        for case in layer:
            n, _, _, batches, eval_batches, last = case.args
            sizes = [z.shape[1] for z in (*batches, *eval_batches, last)]
            assert sizes[1] == 2 and sizes[4] == 1 and n not in sizes and case.name.startswith(f"{n} units, ")
        noise = core.drawn(n05._noise_cases, seed)
        assert noise[1].args[1].shape[1] == 2 and all((c.args[1][:, 0] == 0).all() for c in noise)
        fold = core.drawn(n08._fold_cases, seed)
        assert fold[0].args[0].shape[0] == fold[0].args[0].shape[1] and fold[2].args[1] is None
        assert fold[1].args[0] is fold[2].args[0]  # b = None on the same layer
        combine = core.drawn(n08._combine_cases, seed)
        assert len(set(combine[0].args[0])) == len(combine[0].args[0]) and len(combine[3].args[0]) == 1


# --- (b) right functions pass the hidden cases, whatever their shapes -------------------------------------------

RIGHT = [
    *test_checks.RIGHT.values(),
    (checks.check_batchnorm_layer, (test_checks_06_layer.BatchNormLayer,)),
    (checks.check_layernorm_forward, (test_checks_07.layernorm,)),
    (checks.check_layernorm_backward, (test_checks_07.layernorm_cached, test_checks_07.layernorm_backward)),
    (checks.check_spatial_batchnorm_forward, (test_checks_07.spatial,)),
    (checks.check_groupnorm_forward, (test_checks_07.groupnorm,)),
    (checks.check_fold_batchnorm, (test_checks_08.fold,)),
    (checks.check_combine_statistics, (test_checks_08.combine,)),
]


@pytest.mark.parametrize("check, fns", RIGHT, ids=[check.__name__ for check, _ in RIGHT])
def test_right_functions_pass_the_hidden_cases_of_every_seed_silently(check, fns):
    for seed in range(30):
        score, said = checks.verdict(lambda *f: check(*f, hidden=seed), *fns)
        assert (score, said) == (score.of, ""), (seed, said)


# --- a catalogued mistake shows in a hidden case wherever it shows in the visible case of that kind ---------------

CATALOGUES = [
    ("normalize", n01._normalize_ref, n01.NORMALIZE_MISTAKES),
    ("forward", n02._forward_ref, n02.FORWARD_MISTAKES),
    ("forward", n02._cache_ref, n02.CACHE_MISTAKES),
    ("backward", n02._backward_ref, n02.BACKWARD_MISTAKES),
    ("backward", n02._backward_ref, n02.STAGED_MISTAKES),
    ("layer_forward", n03._forward_ref, n03._on("A", n03.LAYER_FORWARD_MISTAKES)),
    ("layer_forward", n03._cache_ref, n03._on("cache", n03.LAYER_FORWARD_MISTAKES)),
    ("momentum", n04._momentum_ref, n04.MOMENTUM_MISTAKES),
    ("adam", n04._adam_ref, n04.ADAM_MISTAKES),
    ("noise", n05._noise_ref, n05.NOISE_MISTAKES),
    ("inference", n06._inference_ref, n06.INFERENCE_MISTAKES),
    ("ewa", n06._ewa_ref, n06.EWA_MISTAKES),
    ("bn_layer", n06._scenario(n06.BatchNorm), n06.TRAIN_EVAL_MISTAKES),
    ("layernorm", n07._layernorm_ref, n07.LAYERNORM_MISTAKES),
    ("ln_backward", n07._ln_backward_ref, n07.LN_BACKWARD_MISTAKES),
    ("spatial", n07._spatial_ref, n07.SPATIAL_MISTAKES),
    ("groupnorm", n07._groupnorm_ref, n07.GROUPNORM_MISTAKES),
    ("fold", n08._fold_ref, n08.FOLD_MISTAKES),
    ("combine", n08._combine_ref, n08.COMBINE_MISTAKES),
]


def _shows(reference, mistake, case):
    """Whether the mistake's outputs differ from the reference's beyond the case's bound (or it cannot run)."""
    expected, got = reference(*case.args, **case.kwargs), core._outputs(mistake.fn, case)
    if got is None:
        return True
    tol = case.tol or core.TOLERANCE[case.dtype]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return any(core._compare("out", e, g, tol) for e, g in zip(expected, got))


@pytest.mark.parametrize("name, reference, mistakes", CATALOGUES, ids=[f"{n}-{len(m)}" for n, _, m in CATALOGUES])
def test_a_mistake_shows_in_the_hidden_case_of_each_kind_where_it_shows_in_the_visible_one(name, reference, mistakes):
    """Mistakes that coincide with the right answer at some shapes (statistics over the whole array with one unit,
    ``dZ_tilde @ Z_norm.T`` with one unit, the columns of W scaled with one unit, the plain average of equal
    shards' means, ...) keep the shapes where they show. (A few are decided by the values, not the shapes, at a
    loose bound: an eps outside the root in the 1e8-offset case, say; these seeds have none.)"""
    visible = BUILDERS[name]()
    seen = [[_shows(reference, m, c) for c in visible] for m in mistakes]
    for seed in range(40):
        for mistake, shows in zip(mistakes, seen):
            for v, h, shown in zip(visible, core.drawn(BUILDERS[name], seed), shows):
                assert not shown or _shows(reference, mistake, h), (seed, v.name, h.name, mistake.message)


# --- (c) a function written for the visible shapes passes the visible check and fails the hidden one -------------


def _visible_shapes(builder, arg=0):
    return {np.shape(case.args[arg]) for case in builder()}


def _only_at(shapes, fn):
    """``fn`` where the input has one of ``shapes``; elsewhere numpy's error for a reshape to the first of them:
    code with the visible shapes written into it (``Z.reshape(3, 5)``, ``np.zeros((3, 1))``)."""

    def written_for_the_visible_shapes(*args, **kwargs):
        if np.shape(args[0]) not in shapes:
            first = sorted(shapes)[0]
            raise ValueError(f"cannot reshape array of size {np.size(args[0])} into shape {first}")
        return fn(*args, **kwargs)

    return written_for_the_visible_shapes


def forward_four_units(Z, gamma, beta, eps=1e-5):
    """The visible cases have at most 4 units: a loop over at most 4 rows."""
    Z_norm, var = np.zeros(Z.shape), np.zeros((Z.shape[0], 1))
    for i in range(min(4, Z.shape[0])):
        mu, var[i] = Z[i].mean(), Z[i].var()
        Z_norm[i] = (Z[i] - mu) / np.sqrt(var[i] + eps)
    return gamma * Z_norm + beta, (Z_norm, var, gamma, eps)


def inference_seven_examples(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    """The visible cases have at most 7 examples: a loop over at most 7 columns."""
    out = np.zeros(Z.shape)
    for j in range(min(7, Z.shape[1])):
        out[:, j:j + 1] = gamma * (Z[:, j:j + 1] - running_mean) / np.sqrt(running_var + eps) + beta
    return out


def inference_four_units(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    out = np.zeros(Z.shape)
    for i in range(min(4, Z.shape[0])):
        out[i] = gamma[i] * (Z[i] - running_mean[i]) / np.sqrt(running_var[i] + eps) + beta[i]
    return out


def layernorm_five_examples(Z, gamma, beta, eps=1e-5):
    """The visible cases have at most 5 examples: a loop over at most 5 columns."""
    Z_norm = np.zeros(Z.shape)
    for j in range(min(5, Z.shape[1])):
        Z_norm[:, j] = (Z[:, j] - Z[:, j].mean()) / np.sqrt(Z[:, j].var() + eps)
    return gamma * Z_norm + beta, None


def groupnorm_six_channels(X, gamma, beta, groups, eps=1e-5):
    """The visible cases have at most 6 channels: a loop over at most 6 of them."""
    out, per_group = np.zeros(X.shape), X.shape[-1] // groups
    for c in range(min(6, X.shape[-1])):
        part = X[..., c // per_group * per_group:(c // per_group + 1) * per_group]
        mu, var = part.mean(axis=(1, 2, 3))[:, None, None], part.var(axis=(1, 2, 3))[:, None, None]
        out[..., c] = (X[..., c] - mu) / np.sqrt(var + eps)
    return gamma * out + beta, None


SHAPE_BOUND = [
    (checks.check_batchnorm_forward, test_checks.forward, forward_four_units, n02._forward_cases),
    (checks.check_batchnorm_inference, test_checks.inference, inference_seven_examples, n06._inference_cases),
    (checks.check_batchnorm_inference, test_checks.inference, inference_four_units, n06._inference_cases),
    (checks.check_layernorm_forward, test_checks_07.layernorm, layernorm_five_examples, n07._layernorm_cases),
    (checks.check_groupnorm_forward, test_checks_07.groupnorm, groupnorm_six_channels, n07._groupnorm_cases),
]


@pytest.mark.parametrize("check, right, bound, builder", SHAPE_BOUND, ids=[b.__name__ for _, _, b, _ in SHAPE_BOUND])
def test_code_written_for_the_visible_shapes_passes_the_visible_check_and_fails_the_hidden_one(check, right, bound,
                                                                                                 builder):
    """Code that knows every visible shape fails every draw; a loop bounded by the visible cases' largest count
    fails nearly every draw (it passes when every drawn count happens to stay within that bound)."""
    for fn, allowed in ((_only_at(_visible_shapes(builder), right), 0), (bound, 2)):
        score, said = checks.verdict(check, fn)
        assert score == score.of and "right in all" in said, said
        passed = []
        for seed in range(20):
            score, said = checks.verdict(lambda f: check(f, hidden=seed), fn)
            if score == score.of:
                passed.append(seed)
            else:
                assert f"hidden={seed} draws the same ones again" in said, (fn.__name__, seed, said)
        assert len(passed) <= allowed, (fn.__name__, passed)


@pytest.mark.parametrize("check, fns, which, builder, arg", [
    (checks.check_normalize_inputs, test_checks.RIGHT["normalize"][1], 0, n01._normalize_cases, 0),
    (checks.check_batchnorm_backward, test_checks.RIGHT["backward"][1], 1, n02._backward_cases, 0),
    (checks.check_layer_forward, test_checks.RIGHT["layer"][1], 0, n03._layer_cases, 0),
    (checks.check_batch_normalized_example, test_checks.RIGHT["noise"][1], 0, n05._noise_cases, 1),
    (checks.check_ewa_update, test_checks.RIGHT["ewa"][1], 0, n06._ewa_cases, 0),
    (checks.check_fold_batchnorm, (test_checks_08.fold,), 0, n08._fold_cases, 0),
])  # fmt: skip
def test_the_other_checks_too_fail_code_that_knows_only_the_visible_shapes(check, fns, which, builder, arg):
    """Function ``which`` of ``fns`` works only when its argument ``arg`` has a shape the visible cases give it."""
    shapes = _visible_shapes(builder, arg)

    def written_for_the_visible_shapes(*args, **kwargs):
        if np.shape(args[arg]) not in shapes:
            raise ValueError(f"cannot reshape array of size {np.size(args[arg])} into shape {sorted(shapes)[-1]}")
        return fns[which](*args, **kwargs)

    fns = list(fns)
    bound = [*fns[:which], written_for_the_visible_shapes, *fns[which + 1:]]
    assert checks.verdict(check, *bound)[0] == check.points
    for seed in range(10):
        assert checks.verdict(lambda *f: check(*f, hidden=seed), *bound)[0] < check.points, seed
