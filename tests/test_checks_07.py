"""Notebook 07's exercise checks: right code passes with one line; each axis mistake, written as a learner would, is named."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bn_helpers import batchnorm_forward, checks


def layernorm(Z, gamma, beta, eps=1e-5):
    mu = Z.mean(axis=0, keepdims=True)
    var = ((Z - mu) ** 2).mean(axis=0, keepdims=True)
    return gamma * (Z - mu) / np.sqrt(var + eps) + beta, None


def groupnorm(X, gamma, beta, groups, eps=1e-5):
    m, n_H, n_W, n_C = X.shape
    Xg = X.reshape(m, n_H, n_W, groups, n_C // groups)
    mu = Xg.mean(axis=(1, 2, 4), keepdims=True)
    var = Xg.var(axis=(1, 2, 4), keepdims=True)
    return gamma * ((Xg - mu) / np.sqrt(var + eps)).reshape(X.shape) + beta, None


def layernorm_cached(Z, gamma, beta, eps=1e-5):
    mu = Z.mean(axis=0, keepdims=True)
    var = ((Z - mu) ** 2).mean(axis=0, keepdims=True)
    Z_norm = (Z - mu) / np.sqrt(var + eps)
    return gamma * Z_norm + beta, (Z_norm, var, gamma, eps)


def layernorm_backward(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache
    n = Z_norm.shape[0]
    dZ_norm = gamma * dZ_tilde
    dZ = (n * dZ_norm - dZ_norm.sum(axis=0, keepdims=True)
          - Z_norm * (dZ_norm * Z_norm).sum(axis=0, keepdims=True)) / (n * np.sqrt(var + eps))  # fmt: skip
    return dZ, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def spatial(X, gamma, beta, eps=1e-5):
    m, n_H, n_W, n_C = X.shape
    Z_tilde, cache = batchnorm_forward(X.reshape(-1, n_C).T, gamma.reshape(n_C, 1), beta.reshape(n_C, 1), eps)
    return Z_tilde.T.reshape(X.shape), cache


# --- learner-style mistakes -------------------------------------------------------------


def sp_reshape_rows(X, gamma, beta, eps=1e-5):
    n_C = X.shape[3]
    Z_tilde, cache = batchnorm_forward(X.reshape(n_C, -1), gamma.reshape(n_C, 1), beta.reshape(n_C, 1), eps)
    return Z_tilde.reshape(X.shape), cache


def sp_reshape_back(X, gamma, beta, eps=1e-5):
    n_C = X.shape[3]
    Z_tilde, cache = batchnorm_forward(X.reshape(-1, n_C).T, gamma.reshape(n_C, 1), beta.reshape(n_C, 1), eps)
    return Z_tilde.reshape(X.shape), cache  # no transpose on the way back


def sp_per_position(X, gamma, beta, eps=1e-5):
    mu, var = X.mean(axis=0, keepdims=True), X.var(axis=0, keepdims=True)
    return gamma * (X - mu) / np.sqrt(var + eps) + beta, None


def sp_instance(X, gamma, beta, eps=1e-5):
    mu, var = X.mean(axis=(1, 2), keepdims=True), X.var(axis=(1, 2), keepdims=True)
    return gamma * (X - mu) / np.sqrt(var + eps) + beta, None


def sp_no_affine(X, gamma, beta, eps=1e-5):
    n_C = X.shape[3]
    Z_tilde, cache = batchnorm_forward(X.reshape(-1, n_C).T, np.ones((n_C, 1)), np.zeros((n_C, 1)), eps)
    return Z_tilde.T.reshape(X.shape), cache


def ln_over_examples(Z, gamma, beta, eps=1e-5):
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
    return gamma * (Z - mu) / np.sqrt(var + eps) + beta, None


def ln_ddof(Z, gamma, beta, eps=1e-5):
    return gamma * (Z - Z.mean(axis=0)) / np.sqrt(Z.var(axis=0, ddof=1) + eps) + beta, None


def ln_eps_outside(Z, gamma, beta, eps=1e-5):
    return gamma * (Z - Z.mean(axis=0)) / (Z.std(axis=0) + eps) + beta, None


def gn_batchnorm(X, gamma, beta, groups, eps=1e-5):
    mu, var = X.mean(axis=(0, 1, 2), keepdims=True), X.var(axis=(0, 1, 2), keepdims=True)
    return gamma * (X - mu) / np.sqrt(var + eps) + beta, None


def gn_per_position(X, gamma, beta, groups, eps=1e-5):
    m, n_H, n_W, n_C = X.shape
    Xg = X.reshape(m, n_H, n_W, groups, -1)
    mu, var = Xg.mean(axis=-1, keepdims=True), Xg.var(axis=-1, keepdims=True)
    return gamma * ((Xg - mu) / np.sqrt(var + eps)).reshape(X.shape) + beta, None


def gn_interleaved(X, gamma, beta, groups, eps=1e-5):
    out = np.empty_like(X, dtype=float)
    for k in range(groups):
        channels = np.arange(k, X.shape[3], groups)  # every groups-th channel: the wrong boundaries
        x = X[..., channels]
        mu, var = x.mean(axis=(1, 2, 3), keepdims=True), x.var(axis=(1, 2, 3), keepdims=True)
        out[..., channels] = (x - mu) / np.sqrt(var + eps)
    return gamma * out + beta, None


def gn_instance(X, gamma, beta, groups, eps=1e-5):
    mu, var = X.mean(axis=(1, 2), keepdims=True), X.var(axis=(1, 2), keepdims=True)
    return gamma * (X - mu) / np.sqrt(var + eps) + beta, None


def gn_one_group(X, gamma, beta, groups, eps=1e-5):
    mu, var = X.mean(axis=(1, 2, 3), keepdims=True), X.var(axis=(1, 2, 3), keepdims=True)
    return gamma * (X - mu) / np.sqrt(var + eps) + beta, None


def test_right_implementations_pass_with_a_bound(capsys):
    checks.check_layernorm_forward(layernorm)
    checks.check_groupnorm_forward(groupnorm)
    checks.check_spatial_batchnorm_forward(spatial)
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("check_spatial_batchnorm_forward: right in all 5 cases") and "1e-4 in float32" in out[2]
    assert out[0].startswith("check_layernorm_forward: right in all 5 cases") and "1e-10 in float64" in out[0]
    assert out[1].startswith("check_groupnorm_forward: right in all 6 cases") and "1e-4 in float32" in out[1]


def ln_without_gamma_beta(Z, gamma, beta, eps=1e-5):
    mu, var = Z.mean(axis=0, keepdims=True), Z.var(axis=0, keepdims=True)
    return (Z - mu) / np.sqrt(var + eps), None


def _grouped(X, groups):
    m, n_H, n_W, n_C = X.shape
    return X.reshape(m, n_H, n_W, groups, n_C // groups)


def gn_over_positions_and_groups(X, gamma, beta, groups, eps=1e-5):
    Xg = _grouped(X, groups)
    mu, var = Xg.mean(axis=(1, 2, 3), keepdims=True), Xg.var(axis=(1, 2, 3), keepdims=True)  # axis 3 is the group
    return gamma * ((Xg - mu) / np.sqrt(var + eps)).reshape(X.shape) + beta, None


def gn_over_examples_too(X, gamma, beta, groups, eps=1e-5):
    Xg = _grouped(X, groups)
    mu, var = Xg.mean(axis=(0, 1, 2, 4), keepdims=True), Xg.var(axis=(0, 1, 2, 4), keepdims=True)
    return gamma * ((Xg - mu) / np.sqrt(var + eps)).reshape(X.shape) + beta, None


def gn_pytorch_view(X, gamma, beta, groups, eps=1e-5):
    N = X.shape[0]
    x = X.reshape(N, groups, -1)  # PyTorch's x.view(N, G, -1), written for (N, C, H, W)
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    return gamma * ((x - mu) / np.sqrt(var + eps)).reshape(X.shape) + beta, None


def gn_groups_as_group_size(X, gamma, beta, groups, eps=1e-5):
    m, n_H, n_W, n_C = X.shape
    Xg = X.reshape(m, n_H, n_W, n_C // groups, groups)  # read as "groups channels per group"
    mu, var = Xg.mean(axis=(1, 2, 4), keepdims=True), Xg.var(axis=(1, 2, 4), keepdims=True)
    return gamma * ((Xg - mu) / np.sqrt(var + eps)).reshape(X.shape) + beta, None


def gn_eps_outside(X, gamma, beta, groups, eps=1e-5):
    Xg = _grouped(X, groups)
    mu, std = Xg.mean(axis=(1, 2, 4), keepdims=True), Xg.std(axis=(1, 2, 4), keepdims=True)
    return gamma * ((Xg - mu) / (std + eps)).reshape(X.shape) + beta, None


def gn_ddof(X, gamma, beta, groups, eps=1e-5):
    Xg = _grouped(X, groups)
    mu, var = Xg.mean(axis=(1, 2, 4), keepdims=True), Xg.var(axis=(1, 2, 4), keepdims=True, ddof=1)
    return gamma * ((Xg - mu) / np.sqrt(var + eps)).reshape(X.shape) + beta, None


@pytest.mark.parametrize(
    "check, fn, message",
    [
        (checks.check_layernorm_forward, ln_without_gamma_beta, "gamma and beta are not applied: layer norm, like batch norm"),
        (checks.check_groupnorm_forward, gn_over_positions_and_groups, "your statistics are taken over axes \\(1, 2, 3\\)"),
        (checks.check_groupnorm_forward, gn_over_examples_too, "your statistics are also taken over the examples"),
        (checks.check_groupnorm_forward, gn_pytorch_view, "your groups are blocks of the flattened \\(n_H, n_W, n_C\\) values"),
        (checks.check_groupnorm_forward, gn_groups_as_group_size, "you read `groups` as the number of channels in a group"),
        (checks.check_groupnorm_forward, gn_eps_outside, "your eps is outside the square root"),
        (checks.check_groupnorm_forward, gn_ddof, "your variance divides by its count minus 1"),
        (checks.check_layernorm_forward, ln_over_examples, "over the examples of each unit \\(axis=1\\): that is batch norm"),
        (checks.check_layernorm_forward, ln_ddof, "divides by n_l - 1"),
        (checks.check_layernorm_forward, ln_eps_outside, "eps is outside the square root"),
        (checks.check_groupnorm_forward, gn_batchnorm, "per channel, over the examples and the positions .*that is batch norm"),
        (checks.check_groupnorm_forward, gn_per_position, "your statistics are per position"),
        (checks.check_groupnorm_forward, gn_interleaved, "group boundaries are wrong"),
        (checks.check_groupnorm_forward, gn_instance, "each channel gets its own statistics"),
        (checks.check_groupnorm_forward, gn_one_group, "all channels of an example share one mean"),
        (checks.check_spatial_batchnorm_forward, sp_reshape_rows, "X.reshape\\(n_C, -1\\) does not put one channel in each row"),
        (checks.check_spatial_batchnorm_forward, sp_reshape_back, "the way back is not the way in"),
        (checks.check_spatial_batchnorm_forward, sp_per_position, "your statistics are per channel and position, over the examples only"),
        (checks.check_spatial_batchnorm_forward, sp_instance, "per example and channel, over the positions only \\(axes 1, 2\\): that is instance"),
        (checks.check_spatial_batchnorm_forward, sp_no_affine, "gamma and beta are not applied: pass them to batch norm"),
    ],
)  # fmt: skip
def test_each_mistake_is_named(check, fn, message):
    score, said = checks.verdict(check, fn)
    assert score.status == "wrong" and re.search(message, said), said
    assert "wrong result in case" in said
    assert said.count("Likely mistake") == 1, said


def test_unwritten_exercise_scores_zero_and_garbage_is_refused():
    def unwritten(*args, **kwargs):
        raise NotImplementedError

    assert checks.verdict(checks.check_groupnorm_forward, unwritten)[0].status == "unwritten"
    score, said = checks.verdict(checks.check_layernorm_forward, lambda Z, g, b, eps=1e-5: Z)
    assert score == 0 and "must return a tuple of 2" in said
    score, said = checks.verdict(checks.check_layernorm_forward, "layernorm")
    assert score == 0 and "takes your function itself" in said


def test_every_catalogued_mistake_of_notebook_07_has_a_test_here():
    import ast
    import re

    # the expected messages of test_each_mistake_is_named: (check, learner's function, message) triples
    tested = [node.elts[2].value for node in ast.walk(ast.parse(open(__file__).read()))
              if isinstance(node, ast.Tuple) and len(node.elts) == 3 and isinstance(node.elts[2], ast.Constant)
              and isinstance(node.elts[2].value, str)]  # fmt: skip
    for mistake in checks.LAYERNORM_MISTAKES + checks.GROUPNORM_MISTAKES + checks.SPATIAL_MISTAKES + checks.LN_BACKWARD_MISTAKES:
        assert any(re.search(p, mistake.message) for p in tested), f"no test names: {mistake.message}"


def test_spatial_batch_norm_may_call_batchnorm_forward_but_not_the_package_answer():
    from bn_helpers.normalization import spatial_batchnorm_forward

    assert checks.verdict(checks.check_spatial_batchnorm_forward, spatial)[0].status == "right"  # calls batchnorm_forward
    score, said = checks.verdict(checks.check_spatial_batchnorm_forward, spatial_batchnorm_forward)
    assert score == 0 and "is bn_helpers' own bn_helpers.normalization.spatial_batchnorm_forward" in said
    assert "(it may call batchnorm_forward from bn_helpers, by those names)" in said


def sp_no_transpose(X, gamma, beta, eps=1e-5):
    n_C = X.shape[3]
    Z_tilde, cache = batchnorm_forward(X.reshape(-1, n_C), gamma.reshape(n_C, 1), beta.reshape(n_C, 1), eps)
    return Z_tilde.reshape(X.shape), cache


def test_a_matrix_the_wrong_way_round_is_named_as_such_not_as_gammas_fault():
    score, said = checks.verdict(checks.check_spatial_batchnorm_forward, sp_no_transpose)
    assert score == 0 and "raised ValueError: gamma must have shape (18, 1)" in said, said
    assert "the matrix you gave batch norm does not have one row per channel" in said
    verdict = said.split("Where your code raised")[0]  # (the traceback after it quotes the learner's own lines)
    assert ".T" not in verdict and "reshape(-1, n_C)" not in verdict  # the way is described, not written out


# --- layer norm's backward pass, with the learner's own forward pass and cache -----------------


def _lnb(sums=0, through_var=True, gamma_in_dz=True, param_axis=1, dgamma_plain=False):
    def backward(dZ_tilde, cache):
        Z_norm, var, gamma, eps = cache
        n = Z_norm.shape[sums]
        g = gamma * dZ_tilde if gamma_in_dz else dZ_tilde
        dZ = n * g - g.sum(axis=sums, keepdims=True)
        if through_var:
            dZ = dZ - Z_norm * (g * Z_norm).sum(axis=sums, keepdims=True)
        dZ = dZ / (n * np.sqrt(var + eps))
        dgamma = dZ_tilde.sum(axis=param_axis, keepdims=True) if dgamma_plain else (dZ_tilde * Z_norm).sum(axis=param_axis, keepdims=True)
        return dZ, dgamma, dZ_tilde.sum(axis=param_axis, keepdims=True)

    return backward


def ln_backward_gamma_in_front(dZ_tilde, cache):
    Z_norm, var, gamma, eps = cache  # notebook 02's form as written there: gamma / sigma in front of the sums
    n = Z_norm.shape[0]
    dbeta_e, dgamma_e = dZ_tilde.sum(axis=0, keepdims=True), (dZ_tilde * Z_norm).sum(axis=0, keepdims=True)
    dZ = gamma / (n * np.sqrt(var + eps)) * (n * dZ_tilde - dbeta_e - Z_norm * dgamma_e)
    return dZ, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def test_layernorm_backward_right_with_the_learners_cache_and_refused_on_a_wrong_forward(capsys):
    checks.check_layernorm_backward(layernorm_cached, layernorm_backward)
    assert capsys.readouterr().out.startswith("check_layernorm_backward: right in all 4 cases")
    score, said = checks.verdict(checks.check_layernorm_backward, ln_over_examples, layernorm_backward)
    assert score == 0 and "your layernorm_forward does not pass its check yet" in said

    def unwritten(*args):
        raise NotImplementedError

    for forward in (unwritten, ln_over_examples, layernorm_cached):  # unwritten, whatever the forward pass
        assert checks.verdict(checks.check_layernorm_backward, forward, unwritten)[0].status == "unwritten"


@pytest.mark.parametrize("check, backward, message", [
    (checks.check_layernorm_backward, _lnb(sums=1), "your sums run over the examples of each unit \\(axis=1\\), as in notebook 02's batch norm"),
    (checks.check_layernorm_backward, _lnb(through_var=False), "your dZ goes through the mean but not through the variance"),
    (checks.check_layernorm_backward, _lnb(gamma_in_dz=False), "gamma is missing from dZ: the gradient reaching z_norm is gamma"),
    (checks.check_layernorm_backward, ln_backward_gamma_in_front, "gamma is outside your sums. In notebook 02 it could stand in front"),
    (checks.check_layernorm_backward, _lnb(param_axis=0), "dgamma and dbeta are one per unit, as gamma and beta are"),
    (checks.check_layernorm_backward, _lnb(dgamma_plain=True), "your dgamma is dbeta's sum: gamma multiplies z_norm"),
])  # fmt: skip
def test_layernorm_backward_mistakes_are_named(check, backward, message):
    score, said = checks.verdict(check, layernorm_cached, backward)
    assert score.status == "wrong" and re.search(message, said), said
