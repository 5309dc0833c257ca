"""nbgrader's configuration for a course made from these notebooks: copy it into the course folder.

nbgrader reads ``nbgrader_config.py`` from the folder its commands run in,
and that folder is the course's root (``source/``, ``submitted/``,
``autograded/``, ``feedback/`` and ``gradebook.db`` go there).
"""

from bn_helpers.grading import autograde_preprocessors

c = get_config()  # noqa: F821 -- nbgrader defines get_config when it reads this file

c.CourseDirectory.course_id = "batchnorm"

# Autograding runs the learner's answers, the checks and the cells they read,
# not the experiments: one submission of all eight notebooks in seconds
# (bn_helpers/grading.py says which cells run and why). To run every cell of
# a submission instead, as the learner's Run All does:
# c.Autograde.autograde_preprocessors = autograde_preprocessors(every_cell=True)
c.Autograde.autograde_preprocessors = autograde_preprocessors()

# Seconds one cell may take. With every cell running, the longest experiments
# take several seconds on a laptop.
c.Execute.timeout = 300
