"""Custom check: the IMS One SOAP service publishes its WSDL with the operations we call.

The checklist line "IMS SOAP Endpoints: Accessible from server" says the port is
open; this says the service behind it is the one the integration was written
against. In the example environment the endpoint ``ims-one`` is a STAND-IN: the
local HTTP server in standin.py serving standin/IMSONE.wsdl (the real IMS One
runs on dc02imsws01 inside the corporate network).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

WSDL = "http://schemas.xmlsoap.org/wsdl/"


def wsdl_operations(document: bytes) -> set[str]:
    """The operation names a WSDL 1.1 document's port types declare."""
    root = ET.fromstring(document)
    if root.tag != f"{{{WSDL}}}definitions":
        raise ValueError(f"not a WSDL 1.1 document: root element is {root.tag}")
    return {op.get("name", "") for op in root.iter(f"{{{WSDL}}}operation")} - {""}


@pytest.mark.application(id="ims-one-wsdl", on="ims-one")
def test_ims_wsdl_names_the_operations_we_call(golive_endpoint, golive_env):
    """The IMS One WSDL is served and declares every operation the integration calls."""
    expected = {name.strip() for name in golive_env.vars["ims_operations"].split(",")}
    response = golive_endpoint.get("IMSOne.asmx?wsdl")
    assert response.status_code == 200, f"GET IMSOne.asmx?wsdl answered {response.status_code}, expected 200"
    try:
        served = wsdl_operations(response.content)
    except (ET.ParseError, ValueError) as exc:
        pytest.fail(f"IMSOne.asmx?wsdl is not a WSDL document: {exc}", pytrace=False)
    missing = sorted(expected - served)
    assert not missing, f"WSDL declares {sorted(served)}; missing {missing}, expected all of {sorted(expected)}"
