import AudioMark
print("audiomark-bench: not yet")
