"""nbgrader's configuration for a course made from these notebooks: copy it into the course folder.

nbgrader reads ``nbgrader_config.py`` from the folder its commands run in,
and that folder is the course's root (``source/``, ``submitted/``,
``autograded/``, ``feedback/`` and ``gradebook.db`` go there).
"""

from bn_helpers.grading import autograde_preprocessors, generate_assignment_preprocessors

c = get_config()  # noqa: F821 -- nbgrader defines get_config when it reads this file

c.CourseDirectory.course_id = "batchnorm"

# The released copies are those of exercises/: Run All goes to the end (no
# top-level `raise NotImplementedError()` in an inline question's answer cell),
# and no widget state is left over from the executed source.
c.GenerateAssignment.preprocessors = generate_assignment_preprocessors()

# Autograding runs the learner's answers, the checks and the cells they read,
# not the experiments: one submission of all eight notebooks in seconds
# (bn_helpers/grading.py says which cells run and why).
c.Autograde.autograde_preprocessors = autograde_preprocessors()
# To run every cell of a submission instead, as the learner's Run All does,
# add after it:
# c.Autograde.autograde_preprocessors = autograde_preprocessors(every_cell=True)

# Seconds one cell may take. With every cell running, the longest experiments
# take several seconds.
c.Execute.timeout = 300

# `nbgrader validate` shows a failing cell's code cut to this width; the
# notebooks' code lines are at most 173 characters (nbgrader's default is 90).
c.Validator.width = 180
