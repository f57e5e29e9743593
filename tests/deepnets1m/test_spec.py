import pytest

from deepnets1m import SPLIT_NAMES, SPLITS, ArchSpec, sample


@pytest.mark.parametrize("split", SPLIT_NAMES)
def test_json_round_trip(split):
    for i in range(min(3, SPLITS[split].size)):
        spec = sample(split, i)
        again = ArchSpec.from_json(spec.to_json())
        assert again == spec
        assert again.digest() == spec.digest()


def test_from_json_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown fields"):
        ArchSpec.from_json('{"C": 16, "colour": "red"}')


def test_digest_tells_architectures_apart():
    digests = {sample("train", i).digest() for i in range(200)}
    assert len(digests) == 200


def test_reduction_cells_at_thirds():
    assert ArchSpec(num_cells=9).reduction_cells == (3, 6)
    assert ArchSpec(num_cells=4).reduction_cells == (1, 2)
