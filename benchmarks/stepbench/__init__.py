"""The step-time benchmark's parts; `benchmarks/step_vs_torch.py` is the entry point.

nets: what is measured (nets, PyTorch variants, jobs, synthetic shards, FLOPs); singart_side and
torch_side: what a child process runs for each framework; child: one measurement; runner: the parent's
processes and rounds; report: statistics and tables; torch_common: PyTorch pieces the accuracy
benchmark shares. Only child processes load torch or singart's kernels.
"""
