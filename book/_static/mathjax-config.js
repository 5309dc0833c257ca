// MathJax 3's configuration, set before MathJax loads (it reads window.MathJax).
//
// The Jupyter widgets on the notebook pages typeset their text with MathJax 2's
// call, MathJax.Hub.Queue(...). MathJax 3 has no Hub, so the call would fail and
// log an error; here it is answered with MathJax 3's own typesetting (and ignored
// until MathJax has loaded).
window.MathJax = {
  options: { processHtmlClass: "tex2jax_process|mathjax_process|math|output_area" },
  Hub: { Queue: function () {} },
  startup: {
    ready: function () {
      MathJax.startup.defaultReady();
      // A widget asks for ["Typeset", MathJax.Hub, element]: typeset that element only.
      MathJax.Hub = {
        Queue: function (job) {
          var element = job && job[2];
          return element ? MathJax.typesetPromise([element]) : Promise.resolve();
        },
      };
    },
  },
};
