"""Drawing a workflow: the layered graph layout and the SVG written from it."""
