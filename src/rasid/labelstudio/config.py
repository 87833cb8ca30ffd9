"""The Label Studio labeling config, generated from the schema, and a check that a project matches it.

Label Studio's `<Text>` tag has no direction attribute (1.23), so right-to-left display comes
from a `<Style>` rule on a wrapping `<View>`; offsets stay code-point indices either way.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rasid.errors import RasidConfigError
from rasid.schema import Schema

__all__ = ["labeling_config", "config_labels", "config_differences", "LABELS_NAME", "TEXT_NAME"]

LABELS_NAME = "label"
TEXT_NAME = "text"
RTL_CLASS = "rasid-rtl"


def labeling_config(schema: Schema) -> str:
    """The `<View>` XML for a span + relation project whose labels are exactly the schema's."""
    view = ET.Element("View")
    style = ET.SubElement(view, "Style")
    # unicode-bidi: plaintext keeps Latin names and digits inside Arabic lines in reading order
    style.text = f" .{RTL_CLASS} {{ direction: rtl; text-align: right; unicode-bidi: plaintext; font-size: 1.15em; line-height: 1.9; }} "
    relations = ET.SubElement(view, "Relations")
    for rel in schema.relations:
        ET.SubElement(relations, "Relation", value=rel.name)
    labels = ET.SubElement(view, "Labels", name=LABELS_NAME, toName=TEXT_NAME)
    for ent in schema.entities:
        ET.SubElement(labels, "Label", value=ent.name, background=ent.color)
    text_box = ET.SubElement(view, "View", className=RTL_CLASS, style="direction: rtl")
    ET.SubElement(text_box, "Text", name=TEXT_NAME, value=f"${TEXT_NAME}", granularity="symbol")
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"


def config_labels(xml: str) -> tuple[set[str], set[str]]:
    """(entity labels, relation labels) that a labeling config offers."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise RasidConfigError(f"Label Studio labeling config is not valid XML: {exc}") from None
    entity_labels: set[str] = set()
    for labels in root.iter():
        if labels.tag in ("Labels", "HyperTextLabels", "ParagraphLabels"):
            entity_labels.update(lab.get("value", "") for lab in labels.iter("Label"))
    relation_labels = {rel.get("value", "") for block in root.iter("Relations") for rel in block.iter("Relation")}
    return entity_labels, relation_labels


def config_differences(schema: Schema, xml: str) -> list[str]:
    """One readable line per label that the project's config and the schema disagree on; [] when they match."""
    entity_labels, relation_labels = config_labels(xml)
    problems = []
    for kind, in_config, in_schema in (
        ("entity", entity_labels, set(schema.entity_labels)),
        ("relation", relation_labels, set(schema.relation_labels)),
    ):
        for label in sorted(in_config - in_schema):
            problems.append(f"{kind} label {label!r} is in the project but not in the schema")
        for label in sorted(in_schema - in_config):
            problems.append(f"{kind} label {label!r} is in the schema but not in the project")
    return problems
