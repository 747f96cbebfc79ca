"""The accuracy benchmark's parts; `benchmarks/accuracy_vs_torch.py` is the entry point.

curve: test curves; singart_cli: singart trained through its command lines; twin: the same net in
PyTorch with singart's initial values, batches, updater and schedule; idiomatic: the net as a PyTorch
user would write it. PyTorch pieces shared with the step benchmark come from stepbench.torch_common.
"""
