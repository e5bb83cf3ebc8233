/*
 * banned.h — functions that invite overflows; using one is a compile error.
 * Included last by util.h, after the system headers.
 */
#ifndef ML_BANNED_H
#define ML_BANNED_H

#define ML_BANNED(func) sorry_##func##_is_banned_use_ml_buf_or_snprintf

#undef strcpy
#define strcpy(x, y) ML_BANNED(strcpy)
#undef strcat
#define strcat(x, y) ML_BANNED(strcat)
#undef sprintf
#define sprintf(...) ML_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) ML_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) ML_BANNED(strtok)
#undef gets
#define gets(x) ML_BANNED(gets)

#endif
