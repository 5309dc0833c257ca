"""Go on with the learner's function once its check passes, and with the package's until then.

After an exercise, the lesson continues with the learner's code: the gradient
check runs on their backward pass, the timing times their two versions. A
learner who has not finished yet still gets a notebook that runs to the end,
on the package's version, and is told so::

    from bn_helpers.checks import reference_backward, reference_forward, yours_or_ours
    forward = yours_or_ours(check_batchnorm_forward, batchnorm_forward, ours=reference_forward)
    backward = yours_or_ours(check_batchnorm_backward, batchnorm_forward, batchnorm_backward, ours=reference_backward)

Each function is decided on its own check: a check that takes two functions
(a backward pass with the forward pass that makes its cache) decides only the
last one, so ``ours`` must work with whatever the other is (02's reference
functions share the learner's cache format for that reason).
"""

from __future__ import annotations

from .core import quiet


def yours_or_ours(check, *args, ours):
    """The last of ``args`` if ``check(*args)`` passes, else ``ours``; prints one line saying which the cells below use.

    ``check``: a ``check_<name>`` of :mod:`bn_helpers.checks`; ``args``: what
    the check takes, the learner's function it is about last; ``ours``: the
    package's counterpart of that function (or class). The check runs
    silently: its verdict, with the reason, is in the check cell above.
    """
    if not args or not all(callable(f) for f in (*args, ours)):
        raise TypeError("yours_or_ours takes functions, e.g. yours_or_ours(check_ewa_update, ewa_update, ours=bn_helpers.ewa_update)")
    name = getattr(args[-1], "__name__", "your function")
    with quiet():
        score = check(*args)
    if score.status == "right":
        print(f"The cells below use your {name}: it passes its check.")
        return args[-1]
    reason = "is not written yet" if score.status == "unwritten" else "does not pass its check yet (the check cell above says why)"
    print(f"The cells below use bn_helpers' {getattr(ours, '__name__', name)}: your {name} {reason}.")
    return ours
