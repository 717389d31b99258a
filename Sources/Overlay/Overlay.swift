// Overlay: the visible label.
