"""Resources, Device and the device factories; Kubernetes quantity parsing."""

from decimal import Decimal

import pytest

from flyte._quantity import canonical_quantity, compare_quantities, is_quantity, parse_quantity, validate_quantity
from flyte._resources import (
    AMD_GPU,
    GPU,
    HABANA_GAUDI,
    TPU,
    Device,
    Neuron,
    Resources,
    device_names,
    gpu_partitions,
    tpu_topologies,
    tpu_topology_chips,
    tpu_topology_is_single_host,
)
from flyte.errors import ValidationError

# --------------------------------------------------------------------------------------------
# quantities
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("1", Decimal(1)),
        ("500m", Decimal("0.5")),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("1.", Decimal(1)),
        ("+2", Decimal(2)),
        ("1Ki", Decimal(1024)),
        ("1Gi", Decimal(2**30)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("1k", Decimal(1000)),
        ("1G", Decimal(10**9)),
        ("1E", Decimal(10**18)),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("12e-1", Decimal("1.2")),
        ("5n", Decimal("5e-9")),
        ("3u", Decimal("3e-6")),
        (2, Decimal(2)),
        (0.25, Decimal("0.25")),
    ],
)
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "Gi", "1 Gi", "1gi", "1GB", "1.2.3", "abc", "1Kii", ".", "--1", "1e", True, None, [1]])
def test_not_quantities(bad):
    assert not is_quantity(bad)
    with pytest.raises(ValidationError) as e:
        validate_quantity("memory", bad, owner="X")
    assert "memory" in str(e.value) and "quantity" in str(e.value)


def test_negative_quantity_is_rejected_unless_allowed():
    with pytest.raises(ValidationError, match="zero or more"):
        validate_quantity("cpu", "-1")
    assert validate_quantity("x", "-1", allow_negative=True) == -1


@pytest.mark.parametrize(
    "value, canonical",
    [
        ("1.5", "1500m"),
        (0.5, "500m"),
        ("2000m", "2"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("1.5Gi", "1536Mi"),
        ("1000", "1k"),
        ("0.5Ki", "512"),
        ("1025Ki", "1025Ki"),
        ("1Gi", "1Gi"),
        ("1e3", "1e3"),
        ("1.5e3", "1500"),
        ("0.1n", "1n"),  # finer than nano rounds up
        (2, "2"),
        (0, "0"),
        ("0Gi", "0"),
        ("1500M", "1500M"),
        ("1000M", "1G"),
    ],
)
def test_canonical_quantity(value, canonical):
    assert canonical_quantity(value) == canonical
    assert parse_quantity(canonical) == parse_quantity(value) or value == "0.1n"


def test_compare_quantities():
    assert compare_quantities("1Gi", "1024Mi") == 0
    assert compare_quantities("0.5", "500m") == 0
    assert compare_quantities("1G", "1Gi") == -1
    assert compare_quantities(2, "1500m") == 1


# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


def test_scalars_are_requests_tuples_are_ranges():
    r = Resources(cpu="500m", memory=("1Gi", "2Gi"), disk="10Gi")
    req, lim = r.get_requests_and_limits()
    assert req == {"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "10Gi"}
    assert lim == {"memory": "2Gi"}


def test_fill_missing_copies_request_to_limit():
    req, lim = Resources(cpu=1.5, memory="1Gi").get_requests_and_limits(fill_missing=True)
    assert req == lim == {"cpu": "1500m", "memory": "1Gi"}


def test_zero_quantities_are_left_out():
    req, lim = Resources(cpu=0, memory=("0", "1Gi")).get_requests_and_limits()
    assert req == {}
    assert lim == {"memory": "1Gi"}


@pytest.mark.parametrize("cpu", [1, 0.5, "500m", "2", "1.5", (1, 2), ("500m", "1"), (1, "1000m")])
def test_valid_cpu(cpu):
    assert Resources(cpu=cpu).cpu == cpu


@pytest.mark.parametrize(
    "kwargs, field, fragment",
    [
        ({"cpu": "lots"}, "cpu", "quantity"),
        ({"cpu": -1}, "cpu", "zero or more"),
        ({"cpu": (-1, 2)}, "cpu", "zero or more"),
        ({"cpu": True}, "cpu", "cores"),
        ({"cpu": [1, 2]}, "cpu", "not a list"),
        ({"cpu": (1, 2, 3)}, "cpu", "two values"),
        ({"cpu": (None, 2)}, "cpu", "two values"),
        ({"cpu": (2, 1)}, "cpu", "request <= limit"),
        ({"memory": ("2Gi", "1Gi")}, "memory", "request <= limit"),
        ({"memory": 1024}, "memory", "bare number means bytes"),
        ({"memory": "1 GB"}, "memory", "quantity"),
        ({"memory": "-1Gi"}, "memory", "zero or more"),
        ({"disk": 10}, "disk", "unit"),
        ({"disk": "10GB"}, "disk", "quantity"),
        ({"shm": 16}, "shm", "auto"),
        ({"shm": "lots"}, "shm", "quantity"),
        ({"gpu": -1}, "gpu", "zero or more"),
        ({"gpu": 1.5}, "gpu", "count"),
        ({"gpu": ("A100", 1)}, "gpu", "NAME:COUNT"),
        ({"gpu": "X100:1"}, "gpu", "NAME one of"),
        ({"gpu": "A100:0"}, "gpu", "count for A100"),
        ({"gpu": "A100:9"}, "gpu", "count for A100"),
        ({"gpu": "A100:two"}, "gpu", "count for A100"),
        ({"gpu": "Trn1:3"}, "gpu", "[1, 4, 8, 16]"),
        ({"gpu": "V5P:1"}, "gpu", "TPU("),
    ],
)
def test_invalid_resources_name_field_value_and_allowed(kwargs, field, fragment):
    with pytest.raises(ValidationError) as e:
        Resources(**kwargs)
    msg = str(e.value)
    assert e.value.field == field
    assert e.value.owner == "Resources"
    assert repr(kwargs[field])[:20] in msg or repr(e.value.value)[:20] in msg
    assert fragment in msg


def test_request_equal_to_limit_in_other_units_is_fine():
    # Requests and limits compare by value, not by spelling: equal in other units is allowed ...
    req, lim = Resources(memory=("1024Mi", "1Gi"), cpu=("1", "1000m")).get_requests_and_limits()
    assert req == lim == {"cpu": "1", "memory": "1Gi"}
    # ... and one unit more than the limit is not.
    with pytest.raises(ValidationError, match=r"memory=\('1025Mi', '1Gi'\).*request <= limit"):
        Resources(memory=("1025Mi", "1Gi"))
    with pytest.raises(ValidationError, match=r"cpu=\('1001m', '1'\)"):
        Resources(cpu=("1001m", "1"))


def test_gpu_strings_are_devices():
    r = Resources(gpu="A100:2")
    assert r.get_device() == Device(quantity=2, device_class="GPU", device="A100")
    assert Resources(gpu="Trn1:16").get_device() == Device(16, "NEURON", "Trn1")
    assert Resources(gpu="MI300X:1").get_device().device_class == "AMD_GPU"
    assert Resources(gpu="Gaudi1:1").get_device().device_class == "HABANA_GAUDI"


def test_gpu_aliases_normalize_to_one_spelling():
    assert Resources(gpu="A100_80G:1").gpu == "A100 80G:1"
    assert Resources(gpu="h100:8").gpu == "H100:8"
    assert Resources(gpu="RTX_PRO_6000:2").get_device().device == "RTX PRO 6000"
    assert Resources(gpu="A100").gpu == "A100:1"


def test_gpu_count_and_none():
    assert Resources(gpu=2).get_device() == Device(quantity=2, device_class="GPU")
    assert Resources(gpu=0).get_device() is None
    assert Resources().get_device() is None
    d = GPU("H100", 4)
    assert Resources(gpu=d).get_device() is d


def test_shared_memory():
    assert Resources().get_shared_memory() is None
    assert Resources(shm="auto").get_shared_memory() == ""
    assert Resources(shm="16Gi").get_shared_memory() == "16Gi"
    assert Resources(shm="16384Mi").get_shared_memory() == "16Gi"


# --------------------------------------------------------------------------------------------
# devices
# --------------------------------------------------------------------------------------------

MIG = {
    "A100": ["1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"],
    "A100 80G": ["1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
    "H100": ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
    "H200": ["1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"],
    "RTX PRO 6000": ["1g.24gb", "2g.48gb", "4g.96gb"],
}


@pytest.mark.parametrize("device, part", [(d, p) for d, parts in MIG.items() for p in parts])
def test_every_mig_partition_of_its_device(device, part):
    d = GPU(device, 1, part)
    assert (d.device, d.partition, d.device_class, d.quantity) == (device, part, "GPU", 1)
    assert Device(1, "GPU", device, part) == d


@pytest.mark.parametrize(
    "device, part",
    [(d, p) for d in MIG for p in sorted({p for ps in MIG.values() for p in ps} - set(MIG[d]))],
)
def test_partition_of_another_device_is_rejected(device, part):
    with pytest.raises(ValidationError) as e:
        GPU(device, 1, part)
    assert e.value.field == "partition"
    assert part in str(e.value) and device in str(e.value)
    for allowed in MIG[device]:
        assert allowed in str(e.value)
    with pytest.raises(ValidationError):
        Device(1, "GPU", device, part)


@pytest.mark.parametrize("device", ["T4", "L4", "A10G", "V100", "B200", "L40s"])
def test_gpus_without_mig_take_no_partition(device):
    GPU(device, 1)
    with pytest.raises(ValidationError, match="no MIG partitions"):
        GPU(device, 1, "1g.5gb")


def test_gpu_partitions_table():
    for device, parts in MIG.items():
        assert list(gpu_partitions(device)) == parts
    assert gpu_partitions("T4") == ()
    assert gpu_partitions("A100_80G") == tuple(MIG["A100 80G"])


@pytest.mark.parametrize("q", [1, 2, 3, 4, 5, 6, 7, 8])
def test_gpu_quantities(q):
    assert GPU("A100", q).quantity == q


@pytest.mark.parametrize("q", [0, 9, -1, True, 1.0, "2"])
def test_bad_gpu_quantity(q):
    with pytest.raises(ValidationError) as e:
        GPU("A100", q)
    assert e.value.field == "quantity"
    assert "[1, 2, 3, 4, 5, 6, 7, 8]" in str(e.value)


def test_unknown_gpu_names_the_known_ones():
    with pytest.raises(ValidationError) as e:
        GPU("X1000", 1)
    assert e.value.field == "device" and "X1000" in str(e.value) and "H100" in str(e.value)
    with pytest.raises(ValidationError):
        GPU("V5P", 1)  # a TPU is not a GPU


def test_gpu_accepts_seed_and_underscore_spellings():
    assert GPU("A100 80G", 2).device == "A100 80G"
    assert GPU("A100_80G", 2, "7g.80gb").device == "A100 80G"
    assert GPU("RTX PRO 6000", 2, "4g.96gb").partition == "4g.96gb"
    with pytest.raises(ValidationError, match=r"\[1, 2\]"):
        GPU("RTX PRO 6000", 4)


V5P = ["2x2x1", "2x2x2", "2x4x4", "4x4x4", "4x4x8", "4x8x8", "8x8x8", "8x8x16", "8x16x16", "16x16x16", "16x16x24"]
V6E = ["1x1", "2x2", "2x4", "4x4", "4x8", "8x8", "8x16", "16x16"]


@pytest.mark.parametrize("device, topo", [("V5P", t) for t in V5P] + [("V6E", t) for t in V6E])
def test_tpu_topologies(device, topo):
    d = TPU(device, topo)
    assert (d.device_class, d.device, d.partition, d.quantity) == ("TPU", device, topo, 1)
    dims = [int(x) for x in topo.split("x")]
    chips = 1
    for x in dims:
        chips *= x
    assert tpu_topology_chips(topo) == chips == d.accelerator_count()


@pytest.mark.parametrize("device, topo", [("V5P", "2x2"), ("V5P", "1x1"), ("V6E", "2x2x1"), ("V6E", "32x32")])
def test_tpu_topology_of_another_generation_is_rejected(device, topo):
    with pytest.raises(ValidationError) as e:
        TPU(device, topo)
    assert e.value.field == "partition" and device in str(e.value)


def test_tpu_tables_and_single_host():
    assert list(tpu_topologies("V5P")) == V5P
    assert list(tpu_topologies("V6E")) == V6E
    assert tpu_topology_is_single_host("V5P", "2x2x1")
    assert not tpu_topology_is_single_host("V5P", "2x2x2")
    for topo in ("1x1", "2x2", "2x4"):
        assert tpu_topology_is_single_host("V6E", topo)
    for topo in ("4x4", "8x8", "16x16"):
        assert not tpu_topology_is_single_host("V6E", topo)
    assert TPU("V5P", "2x2x1").is_single_host()
    assert not TPU("V5P", "4x4x4").is_single_host()
    assert TPU("V6E").is_single_host() and TPU("V6E").accelerator_count() == 1
    with pytest.raises(ValidationError):
        tpu_topology_is_single_host("A100", "2x2")
    with pytest.raises(ValidationError):
        tpu_topology_chips("2xtwo")


def test_tpu_unknown_device():
    with pytest.raises(ValidationError) as e:
        TPU("V4", "2x2")
    assert e.value.field == "device" and "V5P" in str(e.value)


@pytest.mark.parametrize("name", ["Inf1", "Inf2", "Trn1", "Trn1n", "Trn2", "Trn2u"])
def test_neuron(name):
    assert Neuron(name) == Device(1, "NEURON", name)


@pytest.mark.parametrize("name", ["MI100", "MI210", "MI250", "MI250X", "MI300A", "MI300X", "MI325X", "MI350X", "MI355X"])
def test_amd(name):
    assert AMD_GPU(name) == Device(1, "AMD_GPU", name)


def test_habana_and_unknowns():
    assert HABANA_GAUDI("Gaudi1") == Device(1, "HABANA_GAUDI", "Gaudi1")
    for factory, bad in ((Neuron, "Trn9"), (AMD_GPU, "MI999"), (HABANA_GAUDI, "Gaudi9"), (Neuron, "A100")):
        with pytest.raises(ValidationError) as e:
            factory(bad)
        assert e.value.field == "device" and bad in str(e.value)


def test_device_validation():
    with pytest.raises(ValidationError, match="at least 1"):
        Device(0, "GPU")
    with pytest.raises(ValidationError, match="device_class"):
        Device(1, "FPGA")
    with pytest.raises(ValidationError, match="TPU device"):
        Device(1, "GPU", "V5P")
    with pytest.raises(ValidationError, match="together with a device"):
        Device(1, "GPU", partition="1g.5gb")
    with pytest.raises(ValidationError, match="cannot be partitioned"):
        Device(1, "NEURON", "Trn1", "1x1")
    # a model not in the tables is passed through, with its partition
    custom = Device(2, "GPU", "my-gpu", "half")
    assert (custom.device, custom.partition) == ("my-gpu", "half")


def test_device_is_frozen_and_hashable():
    d = GPU("A100", 1)
    with pytest.raises(Exception):
        d.quantity = 2  # type: ignore[misc]
    assert len({d, GPU("A100", 1)}) == 1


def test_device_names_by_class():
    assert "A100 80G" in device_names("GPU")
    assert set(device_names("TPU")) >= {"V5P", "V6E"}
    assert "Gaudi1" in device_names("HABANA_GAUDI")
