"""Benchmarks: few-shot accuracy and speed, each a `python -m engine.bench.<name>` script."""

# The methods `fewshot bench` knows (engine.bench.fewshot.build_methods makes them); here, so
# that `fewshot --help` can list them without importing torch.
METHOD_NAMES = (
    "meta-adapter",
    "adapter",
    "maml-adapter",
    "linear-probe",
    "prototype",
    "setfit",
    "full-finetune",
)
