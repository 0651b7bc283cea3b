"""The replay's two engines and the whole-GPU placement index.

* :mod:`~tracekit.replay.engines.whole_gpu` - whole GPUs on identical nodes, one event loop per
  VC (static-key and preemptive policies; backfill; artifact-compatible mode).
* :mod:`~tracekit.replay.engines.shared_gpu` - every GPU modelled on its own: fractional
  requests, GPU types, packing policies, colocation slowdown.
* :mod:`~tracekit.replay.engines.placement` - node choice for whole GPUs.
* :mod:`~tracekit.replay.engines.compiled` + :mod:`~tracekit.replay.engines.kernels`, and
  :mod:`~tracekit.replay.engines.shared_compiled` +
  :mod:`~tracekit.replay.engines.shared_kernels` - the compiled (numba) cores of the two
  engines, bit-identical to them, cached on disk.

Engines receive arrays and policies and return per-job arrays; reading inputs and building the
result table is the job of :mod:`tracekit.replay.inputs` and :mod:`tracekit.replay.run`.
"""
