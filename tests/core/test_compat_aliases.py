"""The compatibility names that plugins written for the published SDK import, over this core.

Each alias is a thin view of one of this SDK's own objects (docs/ARCHITECTURE.md, "Compatibility
aliases"); these tests pin that they are the same objects, behave as the published names do,
and that a transformer written the published way is checked and converted as it expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import pytest

import flyte
from flyte.errors import InitializationError, ValidationError


def test_utils_lazy_module_is_the_kit_function() -> None:
    import flyte._lazy
    import flyte._utils
    import flyte.extend

    assert flyte._utils.lazy_module is flyte._lazy.lazy_module is flyte.extend.lazy_module


def test_dataframe_module_path_shares_the_registry() -> None:
    import flyte.io
    import flyte.io.extend
    from flyte.io._dataframe import dataframe

    assert dataframe.PARQUET == "parquet"
    assert dataframe.DataFrame is flyte.io.DataFrame
    assert dataframe.DataFrameTransformerEngine is flyte.io.extend.DataFrameTransformerEngine
    assert (dataframe.DataFrameEncoder, dataframe.DataFrameDecoder) == (flyte.io.extend.DataFrameEncoder, flyte.io.extend.DataFrameDecoder)


def test_msgpack_annotation_names_are_the_ones_the_engine_writes() -> None:
    from flyte.types import TypeEngine
    from flyte.types._type_engine import CACHE_KEY_METADATA, MESSAGEPACK, SERIALIZATION_FORMAT

    @dataclass
    class Point:
        x: int

    lt = TypeEngine.to_literal_type(Point)
    assert dict(lt.annotation.annotations[CACHE_KEY_METADATA]) == {SERIALIZATION_FORMAT: MESSAGEPACK}


def test_get_storage_before_init_raises_as_published() -> None:
    from flyte._initialize import get_storage

    with pytest.raises(InitializationError, match=r"flyte.init\(\)"):
        get_storage()


def test_get_storage_returns_what_init_was_given() -> None:
    from flyte._initialize import get_storage
    from flyte.storage import ABFS, S3

    flyte.init()
    assert get_storage() is None
    s3 = S3(endpoint="http://127.0.0.1:9000", access_key_id="id", secret_access_key="hidden")
    flyte.init(storage=s3)
    assert get_storage() is s3
    flyte.init_from_config(storage=ABFS(account_name="acct"))
    assert get_storage() == ABFS(account_name="acct")


def test_init_refuses_a_storage_that_is_not_a_record() -> None:
    with pytest.raises(ValidationError, match=r"invalid storage='s3://bucket'.*flyte.storage.S3, GCS or ABFS"):
        flyte.init(storage="s3://bucket")


def test_storage_records_read_the_environment_and_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from flyte.storage import ABFS, GCS, S3

    for var in ("FLYTE_AWS_ENDPOINT", "FLYTE_AWS_ACCESS_KEY_ID", "FLYTE_AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("FLYTE_STORAGE_RETRIES", "5")
    s3 = S3.auto()
    assert (s3.access_key_id, s3.secret_access_key, s3.endpoint, s3.region, s3.retries) == (
        "AKIDEXAMPLE", "s3cr3t-value", "http://127.0.0.1:9000", "eu-west-1", 5,
    )
    assert S3.auto(region="us-east-2").region == "us-east-2"
    monkeypatch.setenv("FLYTE_AWS_ACCESS_KEY_ID", "flyte-specific")
    assert S3.auto().access_key_id == "flyte-specific"
    assert "s3cr3t-value" not in repr(s3)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "acct")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "azure-key-value")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "client-secret-value")
    abfs = ABFS.auto()
    assert (abfs.account_name, abfs.account_key, abfs.client_secret) == ("acct", "azure-key-value", "client-secret-value")
    assert "azure-key-value" not in repr(abfs) and "client-secret-value" not in repr(abfs)
    assert GCS.auto().retries == 5


def test_internal_ctx_outside_a_task_points_at_the_configured_raw_data(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from flyte._context import internal_ctx

    monkeypatch.setenv("FLYTE_RAW_DATA_PATH", str(tmp_path / "raw"))
    flyte.init()
    ic = internal_ctx()
    assert not ic.is_task_context() and ic.data.task_context is None
    assert ic.raw_data.path == str(tmp_path / "raw")
    assert ic.raw_data.get_random_remote_path("f.parquet").startswith(str(tmp_path / "raw"))


def test_internal_ctx_inside_a_task_sees_the_task() -> None:
    env = flyte.TaskEnvironment(name="compat_ctx")

    @env.task
    async def where() -> List[Any]:
        from flyte._context import internal_ctx

        ic = internal_ctx()
        tctx = flyte.ctx()
        path = ic.raw_data.get_random_remote_path()
        return [ic.is_task_context(), ic.data.task_context is tctx, ic.raw_data.path == tctx.raw_data_path.path, path.startswith(tctx.raw_data_path.path)]

    flyte.init()
    assert list(flyte.run(where).outputs()[0]) == [True, True, True, True]


def test_internal_ctx_replace_task_context_scopes_the_change() -> None:
    from flyte._context import internal_ctx
    from flyte.models import ActionID, TaskContext

    tctx = TaskContext(action=ActionID(name="a0", run_name="r0"))
    with internal_ctx().replace_task_context(tctx):
        assert flyte.ctx() is tctx
    assert flyte.ctx() is None


# -- A transformer written the published way ---------------------------------------------------


class Celsius:
    """A value type whose transformer is written as published plugins write theirs."""

    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


CALLS: Dict[str, int] = {"to_literal": 0, "to_python_value": 0}


def _published_style_transformer() -> Any:
    from flyteidl2.core import literals_pb2, types_pb2

    from flyte.types import TypeTransformer, TypeTransformerFailedError

    class CelsiusTransformer(TypeTransformer[Celsius]):
        # Only the published SDK's methods: no value_checker, no local_roundtrip.
        def get_literal_type(self, t: Any) -> Any:
            return types_pb2.LiteralType(simple=types_pb2.SimpleType.FLOAT)

        def assert_type(self, t: Any, v: Any) -> None:
            if not isinstance(v, (Celsius, float)):  # a bare float is accepted, as the plugin says
                raise TypeTransformerFailedError(f"Expected Celsius or float, got {type(v).__name__}")

        async def to_literal(self, python_val: Any, python_type: Any, expected: Any) -> Any:
            CALLS["to_literal"] += 1
            degrees = python_val.degrees if isinstance(python_val, Celsius) else python_val
            if degrees < -273.15:
                raise TypeTransformerFailedError(f"{degrees} is below absolute zero")
            return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(float_value=degrees)))

        async def to_python_value(self, lv: Any, expected_python_type: Any) -> Celsius:
            CALLS["to_python_value"] += 1
            return Celsius(lv.scalar.primitive.float_value)

    return CelsiusTransformer("Celsius", Celsius)


@pytest.fixture
def celsius_registered() -> Any:
    from flyte.types import TypeEngine

    tr = _published_style_transformer()
    TypeEngine.register(tr)
    CALLS.update(to_literal=0, to_python_value=0)
    yield tr
    TypeEngine._REGISTRY.pop(Celsius, None)
    TypeEngine._invalidate()


def test_the_rule_tells_published_style_transformers_from_this_sdks(celsius_registered: Any) -> None:
    from flyte.types import TypeEngine
    from flyte.types._transformer import written_for_published_sdk

    assert written_for_published_sdk(celsius_registered)
    assert not written_for_published_sdk(TypeEngine.get_transformer(int))
    assert not written_for_published_sdk(TypeEngine.get_transformer(flyte.io.File))
    assert not written_for_published_sdk(TypeEngine.get_transformer(flyte.io.DataFrame))


def test_published_style_transformer_checks_by_assert_type_and_converts_at_boundaries(celsius_registered: Any) -> None:
    env = flyte.TaskEnvironment(name="compat_celsius")

    @env.task
    async def warm(t: Celsius) -> Celsius:
        return t.degrees + 10.0  # a float: accepted by the transformer's assert_type

    @env.task
    async def main() -> float:
        out = await warm(Celsius(20.0))
        assert isinstance(out, Celsius)  # it came back through to_python_value
        return out.degrees

    flyte.init()
    assert flyte.run(main).outputs()[0] == 30.0
    assert CALLS == {"to_literal": 2, "to_python_value": 2}  # warm's input and its output


def test_published_style_transformer_refusal_names_the_task_and_input(celsius_registered: Any) -> None:
    env = flyte.TaskEnvironment(name="compat_celsius_bad")

    @env.task
    async def warm(t: Celsius) -> float:
        return 1.0

    flyte.init()
    with pytest.raises(Exception, match=r"compat_celsius_bad.warm.*input 't'.*Expected Celsius or float, got str"):
        flyte.run(warm, t="hot")
    with pytest.raises(Exception, match=r"below absolute zero"):
        flyte.run(warm, t=Celsius(-300.0))


# -- The published CLI names a plugin's command builds on (flyte hydra run) ---------------------


def test_typed_interface_of_a_native_interface() -> None:
    from flyte._internal.runtime.types_serde import transform_native_to_typed_interface

    env = flyte.TaskEnvironment(name="compat_iface")

    @env.task
    def t(a: int, b: str = "x") -> float:
        return 1.0

    ti = transform_native_to_typed_interface(t.native_interface)
    assert [v.key for v in ti.inputs.variables] == ["a", "b"]
    assert [v.key for v in ti.outputs.variables] == ["o0"]
    assert transform_native_to_typed_interface(None) is None


def test_run_arguments_options_round_trip() -> None:
    import click

    from flyte.cli._run import RunArguments

    opts = RunArguments.options()
    names = [o.name for o in opts]
    assert {"project", "domain", "local", "name", "raw_data_path", "follow", "service_account", "copy_style", "debug"} <= set(names)
    cmd = click.Command("x", params=opts, callback=lambda **kw: kw)
    parsed = cmd.main(args=["--local", "--name", "r1", "--image", "a=b", "--copy-style", "all"], standalone_mode=False)
    args = RunArguments.from_dict({**parsed, "unknown": 1})
    assert (args.local, args.name, args.image, args.copy_style, args.follow) == (True, "r1", ("a=b",), "all", False)
    with pytest.raises(click.BadParameter):
        cmd.main(args=["--copy-style", "some"], standalone_mode=False)


def test_initialize_config_initializes_flyte() -> None:
    from flyte._initialize import is_initialized
    from flyte.cli._common import initialize_config

    cfg = initialize_config(None, "proj", "dev", root_dir=None)
    assert is_initialized() and flyte.current_project() == "proj"
    assert cfg.replace(run_args=None).log_format == "console"


def test_to_click_option_requires_inputs_without_default() -> None:
    import click

    from flyte.cli._params import to_click_option

    cmd = click.Command(
        "x",
        params=[to_click_option("n", None, int), to_click_option("s", None, str, "d"), to_click_option("o", None, Optional[int])],
        callback=lambda **kw: kw,
    )
    assert cmd.main(args=["--n", "3"], standalone_mode=False) == {"n": 3, "s": "d", "o": None}
    with pytest.raises(click.MissingParameter, match="n"):
        cmd.main(args=[], standalone_mode=False)
    with pytest.raises(click.BadParameter):
        cmd.main(args=["--n", "three"], standalone_mode=False)
