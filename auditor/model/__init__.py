"""The data the layers hand each other: snapshot, result, versioned documents, Graph object
readers, errors, packaged resources and atomic output. Imports nothing else of auditor."""
