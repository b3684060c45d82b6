"""`nbstream.__all__` is complete, sorted, and every name in it exists."""

import nbstream


def test_all_is_sorted_and_resolvable() -> None:
    assert nbstream.__all__ == sorted(nbstream.__all__)
    for name in nbstream.__all__:
        assert hasattr(nbstream, name), name


def test_public_names_are_exported() -> None:
    public = {n for n in vars(nbstream) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(nbstream, n)).__name__ == "module"}
    assert public - modules - {"annotations", "Any"} <= set(nbstream.__all__)
