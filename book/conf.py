"""Sphinx configuration of the course's web book (make book).

The book is built from the notebooks' stored outputs (nothing is executed),
with myst-nb for the notebooks and the Sphinx Book Theme. Everything a page
needs is served from the site itself: MathJax, RequireJS and the Jupyter
widget manager come from the npm packages pinned in book/package.json (copied
into _static/vendor by tools/build_book.py), so a page makes no request
outside the site.
"""

project = "Batch normalization, one experiment at a time"
author = "the course's authors"
copyright = "the course's authors, MIT licence"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
# data_README.md is the data folder's README, included into data.md, not a page of its own
exclude_patterns = ["_build", "node_modules", "**.ipynb_checkpoints", "package*.json", "data_README.md"]

# --- notebooks: stored outputs only, exactly what strict nbval checks
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_merge_streams = True
# The widget manager and RequireJS from the site itself, not from a CDN; widget
# modules are all in @jupyter-widgets/controls, which embed-amd.js bundles, so
# it never needs its CDN either.
nb_ipywidgets_js = {
    "vendor/require.js": {},
    "vendor/html-manager/embed-amd.js": {"data-jupyter-widgets-cdn": "", "data-jupyter-widgets-cdn-only": "false"},
}
suppress_warnings = ["mystnb.unknown_mime_type"]

# --- equations: MathJax 3 from the site itself, configured by _static/mathjax-config.js
# (which also answers the widgets' MathJax 2 call); myst-parser must not write its own config.
mathjax_path = "vendor/mathjax/tex-mml-chtml.js"
myst_update_mathjax = False
html_js_files = [("mathjax-config.js", {"priority": 200})]

# --- API reference from the docstrings (numpy style)
autodoc_member_order = "bysource"
autodoc_typehints = "none"
napoleon_google_docstring = False
napoleon_use_rtype = False

# --- the theme
html_theme = "sphinx_book_theme"
html_title = "Batch normalization, one experiment at a time"
html_static_path = ["_static"]
html_show_sourcelink = False
html_copy_source = False  # the notebooks are in the repository; the site need not carry them twice
html_context = {"default_mode": "light"}
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}
html_sidebars = {"**": ["navbar-logo.html", "sbt-sidebar-nav.html"]}
