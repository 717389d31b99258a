// AudioMark: the keyed, robust, inaudible audio watermark (see LABELS.md).
