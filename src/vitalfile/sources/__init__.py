"""Readers and writers of outside formats: DMF fixed-width, canonical CSV, FHIR VRDR."""
