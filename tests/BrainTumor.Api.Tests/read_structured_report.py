"""Reads a BrainTumor SR with pydicom, an independent reader, and prints its content tree's facts as JSON.

Usage: python3 read_structured_report.py FILE
"""
import json
import sys

import pydicom


def concept(item):
    code = item.ConceptNameCodeSequence[0]
    return f"{code.CodeValue}^{code.CodingSchemeDesignator}"


def coded(sequence):
    return {"code": str(sequence[0].CodeValue), "scheme": str(sequence[0].CodingSchemeDesignator), "meaning": str(sequence[0].CodeMeaning)}


dataset = pydicom.dcmread(sys.argv[1])
facts = {
    "sopClass": str(dataset.SOPClassUID),
    "sopInstance": str(dataset.SOPInstanceUID),
    "study": str(dataset.StudyInstanceUID),
    "series": str(dataset.SeriesInstanceUID),
    "modality": str(dataset.Modality),
    "patientName": str(dataset.get("PatientName", "")),
    "patientTags": sorted(f"{element.tag.group:04X},{element.tag.element:04X}" for element in dataset if element.tag.group == 0x0010),
    "title": coded(dataset.ConceptNameCodeSequence),
    "completion": str(dataset.CompletionFlag),
    "probabilities": {},
}
for item in dataset.ContentSequence:
    name = concept(item)
    if name == "111001^DCM":
        facts["algorithmName"] = str(item.TextValue)
    elif name == "111003^DCM":
        facts["algorithmVersion"] = str(item.TextValue)
    elif name == "121106^DCM":
        facts["comment"] = str(item.TextValue)
    elif name == "IN-DISTRIBUTION^99BRAINTUMOR":
        facts["inDistribution"] = coded(item.ConceptCodeSequence)
    elif name == "121071^DCM":
        facts["finding"] = coded(item.ConceptCodeSequence)
        image = item.ContentSequence[0].ReferencedSOPSequence[0]
        facts["sourceSopClass"] = str(image.ReferencedSOPClassUID)
        facts["sourceSopInstance"] = str(image.ReferencedSOPInstanceUID)
    elif name == "CLASS-PROB^99BRAINTUMOR":
        measured = item.MeasuredValueSequence[0]
        facts["units"] = coded(measured.MeasurementUnitsCodeSequence)
        facts["probabilities"][coded(item.ContentSequence[0].ConceptCodeSequence)["code"]] = float(measured.NumericValue)
print(json.dumps(facts))
