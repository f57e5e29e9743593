import pytest

from gnn_zoo import VARIANTS, resolve_variant


def test_switch_table_of_ghn2_ghn1_and_mlp():
    """Section 6's table: GHN-1 has m = 1, no scaling, no virtual edges, no LayerNorm; the MLP row is GHN-2's shell."""
    ghn1, ghn2, mlp = VARIANTS["ghn1"], VARIANTS["ghn2"], VARIANTS["mlp"]
    assert (ghn1.meta_batch, ghn1.scaling, ghn1.max_hops, ghn1.layernorm) == (1, False, 1, False)
    assert (ghn2.meta_batch, ghn2.scaling, ghn2.max_hops, ghn2.layernorm) == (None, True, None, True)
    assert (mlp.scaling, mlp.layernorm, mlp.core) == (True, True, "mlp")
    assert (VARIANTS["ghn3"].core, VARIANTS["ghn3"].decoder) == ("transformer", "ghn3")


def test_resolve_variant():
    assert resolve_variant("ghn2", "gat") == ("ghn2", "gat")
    assert resolve_variant("ghn1", "gatedgnn") == ("ghn1", "gatedgnn")
    assert resolve_variant("mlp", None) == resolve_variant("mlp", "mlp") == ("mlp", "mlp")
    assert resolve_variant("ghn2", "mlp") == ("ghn2", "mlp")  # the mlp core at protocol v1's budget: another model
    with pytest.raises(ValueError, match="drop --gnn gat"):
        resolve_variant("mlp", "gat")
    with pytest.raises(ValueError, match="--gnn is required"):
        resolve_variant("ghn1", None)
    assert resolve_variant("ghn3", None) == ("ghn3", "transformer")  # GHN-3 as published implies its core
    with pytest.raises(ValueError, match="GHN-3 as published"):
        resolve_variant("ghn3", "gat")
    with pytest.raises(ValueError, match="unknown variant"):
        resolve_variant("ghn4", "gat")
