"""What a workflow is: the model, the DAG, the file format and its limits, validation, the staging rules."""
