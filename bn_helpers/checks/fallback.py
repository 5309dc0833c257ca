"""Go on with the learner's function once its check passes, and with the package's until then.

After an exercise, the lesson continues with the learner's code: the gradient
check runs on their backward pass, the timing times their two versions. A
learner who has not finished yet still gets a notebook that runs to the end,
on the package's version, and is told so::

    from bn_helpers.checks import yours_or_ours
    forward = yours_or_ours(check_batchnorm_forward, batchnorm_forward, ours=bn_helpers.batchnorm_forward)
    forward, backward = yours_or_ours(check_batchnorm_backward, batchnorm_forward, batchnorm_backward,
                                      ours=(bn_helpers.batchnorm_forward, bn_helpers.batchnorm_backward))
"""

from __future__ import annotations

from .core import quiet


def yours_or_ours(check, *yours, ours):
    """``yours`` if ``check(*yours)`` passes, else ``ours``; prints one line saying which the cells below use.

    ``check``: a ``check_<name>`` of :mod:`bn_helpers.checks`; ``yours``: the
    learner's functions, as the check takes them; ``ours``: the package's
    counterparts, one function or a tuple in the same order. Returns one
    function when ``yours`` is one, else a tuple. The check runs silently: its
    verdict, with the reason, is in the check cell above.
    """
    ours_tuple = ours if isinstance(ours, tuple) else (ours,)
    if len(ours_tuple) != len(yours):
        raise ValueError(f"ours must have one function for each of yours ({len(yours)}); got {len(ours_tuple)}")
    if not all(callable(f) for f in (*yours, *ours_tuple)):
        raise TypeError("yours_or_ours takes functions, e.g. yours_or_ours(check_ewa_update, ewa_update, ours=bn_helpers.ewa_update)")
    names = " and ".join(getattr(f, "__name__", "your function") for f in yours)
    one = len(yours) == 1
    with quiet():
        score = check(*yours)
    if score.status == "right":
        print(f"The cells below use your {names}: {'it passes its' if one else 'they pass their'} check.")
        return yours[0] if one else yours
    if score.status == "unwritten":
        reason = "is not written yet" if one else "are not written yet"
    else:
        reason = ("does not pass its check yet" if one else "do not pass their check yet") + " (the check cell above says why)"
    ours_names = " and ".join(f"bn_helpers' {getattr(f, '__name__', '?')}" for f in ours_tuple)
    print(f"The cells below use {ours_names}: your {names} {reason}.")
    return ours_tuple[0] if one else ours_tuple
