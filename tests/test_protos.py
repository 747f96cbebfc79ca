"""Generated code is never edited by hand: regenerating it from protos/ must change nothing."""
from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    from grpc_tools import protoc  # the test extra pins the protoc that made the committed code
    sources = sorted(PROTOS.glob("singa_proto/*.proto"))
    assert sources, "no .proto files found"
    shutil.copytree(PROTOS / "singa_proto", tmp_path / "singa_proto",
                    ignore=shutil.ignore_patterns("*_pb2.py", "*_pb2.pyi", "__pycache__"))
    args = ["protoc", f"-I{tmp_path}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}"]
    assert protoc.main(args + [str(tmp_path / "singa_proto" / p.name) for p in sources]) == 0
    generated = {p.name for p in (PROTOS / "singa_proto").glob("*_pb2*.py*")}
    expected = {p.stem + suffix for p in sources for suffix in ("_pb2.py", "_pb2.pyi")}
    assert generated == expected, "a generated file without its .proto, or a .proto never generated"
    for proto in sources:
        for suffix in ("_pb2.py", "_pb2.pyi"):
            name = proto.stem + suffix
            fresh = (tmp_path / "singa_proto" / name).read_text()
            committed = (PROTOS / "singa_proto" / name).read_text()
            assert fresh == committed, f"protos/singa_proto/{name} differs from what {proto.name} generates"


def test_every_service_method_has_its_message_types() -> None:
    """The transport serves services.proto from its descriptor: each method's header types must exist."""
    from singa_proto import services_pb2
    services = services_pb2.DESCRIPTOR.services_by_name
    assert set(services) == {"Params", "Bridges", "Coordinator"}
    for service in services.values():
        for method in service.methods:
            for message in (method.input_type, method.output_type):
                assert getattr(services_pb2, message.name).DESCRIPTOR is message
