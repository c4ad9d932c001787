"""Reads a DICOM file with pydicom, an independent reader, and prints what DicomAnswerTests checks, as JSON.

Usage: python3 read_secondary_capture.py FILE
"""
import json
import sys

import pydicom

dataset = pydicom.dcmread(sys.argv[1])
source = dataset.SourceImageSequence[0] if "SourceImageSequence" in dataset else None
print(json.dumps({
    "transferSyntax": str(dataset.file_meta.TransferSyntaxUID),
    "sopClass": str(dataset.SOPClassUID),
    "sopInstance": str(dataset.SOPInstanceUID),
    "series": str(dataset.SeriesInstanceUID),
    "study": str(dataset.StudyInstanceUID),
    "seriesDescription": str(dataset.SeriesDescription),
    "burnedIn": str(dataset.BurnedInAnnotation),
    "comments": str(dataset.ImageComments),
    "sourceSopInstance": str(source.ReferencedSOPInstanceUID) if source else None,
    "sourceSopClass": str(source.ReferencedSOPClassUID) if source else None,
    "patientName": str(dataset.get("PatientName", "")),
    "patientId": str(dataset.get("PatientID", "")),
    "patientTags": sorted(f"{element.tag.group:04X},{element.tag.element:04X}" for element in dataset if element.tag.group == 0x0010),
    "shape": list(dataset.pixel_array.shape),
}))
