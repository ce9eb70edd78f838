"""potential: which accounts to grow, which to save, and why.

    import potential
    summary = potential.train({"transactions": df}, "2026-08-01", "workspace")

The Python API (`potential.api`: load_config, load_dataset, build_features, train, rank, explain, model_versions) is
imported on first use, so `import potential` stays cheap; see docs/python-api.md.
"""

__version__ = "0.1.0"

API = (
    "Config",
    "build_features",
    "explain",
    "load_config",
    "load_dataset",
    "model_versions",
    "rank",
    "train",
)
__all__ = ["__version__", *API]


def __getattr__(name: str):
    """`potential.train` and the other API names, from `potential.api` on first use (PEP 562)."""
    if name in API:
        import importlib

        value = getattr(importlib.import_module("potential.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'potential' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
