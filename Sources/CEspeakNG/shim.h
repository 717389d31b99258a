// eSpeak NG, in-process text to speech for the spoken audio label: Debian's libespeak-ng-dev.
#include <stdio.h>
#include <wchar.h>
#include <espeak-ng/speak_lib.h>
#include <espeak-ng/espeak_ng.h>
