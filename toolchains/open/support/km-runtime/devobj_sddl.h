/*
 * devobj_sddl.h -- winpe-lab: the SDDL subset of IoCreateDeviceSecure ("SDDL for Device Objects", WDK
 * documentation) turned into a security descriptor.
 *
 * Written for winpe-lab from the documentation. Only the Rtl* security routines are used, which both ntoskrnl.exe
 * (drivers: wdmsec.c) and ntdll.dll (user mode: the project's test of this parser) export, so the same code is
 * checked against Windows' own SDDL parser (advapi32's ConvertStringSecurityDescriptorToSecurityDescriptorW).
 *
 * The includer defines, before including this file, the allocator for the descriptor:
 *   WINPE_SDDL_ALLOC(bytes)  returns zeroed memory or NULL
 *   WINPE_SDDL_FREE(ptr)
 * and provides the Rtl* declarations (ntifs.h in kernel mode; winternl-style declarations in user mode).
 *
 * Grammar (anything else is STATUS_INVALID_PARAMETER; nothing is guessed or dropped):
 *   "D:P" followed by zero or more "(A;;Access;;;SID)"
 *   Access: "0x" and 1-8 hexadecimal digits, or a sequence of the codes GA GR GW GX (generic rights) and
 *           RC SD WD WO (READ_CONTROL, DELETE, WRITE_DAC, WRITE_OWNER)
 *   SID:    SY LS NS BA BU BG AU AN IU NU WD RC UD, or a numeric SID "S-1-<authority>-<sub>[-<sub>...]"
 * The result: a self-relative descriptor whose DACL holds one ACCESS_ALLOWED ACE per expression, in order, with
 * SE_DACL_PRESENT and SE_DACL_PROTECTED ("P"); no owner, group or SACL ("D:P" alone is the empty DACL: no access).
 */
#ifndef WINPE_LAB_DEVOBJ_SDDL_H
#define WINPE_LAB_DEVOBJ_SDDL_H

#define WINPE_SDDL_MAX_ACES 64
#define WINPE_SDDL_MAX_SUBAUTH 15

typedef struct {
  UCHAR Revision;
  UCHAR SubAuthorityCount;
  UCHAR IdentifierAuthority[6];
  ULONG SubAuthority[WINPE_SDDL_MAX_SUBAUTH];
} WINPE_SDDL_SID;

typedef struct {
  const WCHAR *Code;
  ULONG Authority;
  UCHAR Count;
  ULONG Sub[6];
} WINPE_SDDL_ALIAS;

/* Well-known SIDs of the SDDL aliases the device-object subset accepts. */
static const WINPE_SDDL_ALIAS WinpeSddlAliases[] = {
    {L"SY", 5, 1, {18}},               /* Local System */
    {L"LS", 5, 1, {19}},               /* Local Service */
    {L"NS", 5, 1, {20}},               /* Network Service */
    {L"BA", 5, 2, {32, 544}},          /* Builtin Administrators */
    {L"BU", 5, 2, {32, 545}},          /* Builtin Users */
    {L"BG", 5, 2, {32, 546}},          /* Builtin Guests */
    {L"AU", 5, 1, {11}},               /* Authenticated Users */
    {L"AN", 5, 1, {7}},                /* Anonymous Logon */
    {L"IU", 5, 1, {4}},                /* Interactive */
    {L"NU", 5, 1, {2}},                /* Network */
    {L"WD", 1, 1, {0}},                /* World (Everyone) */
    {L"RC", 5, 1, {12}},               /* Restricted Code */
    {L"UD", 5, 6, {84, 0, 0, 0, 0, 0}} /* User-Mode Drivers */
};

typedef struct {
  const WCHAR *s;
  SIZE_T n;
  SIZE_T i;
} WINPE_SDDL_CURSOR;

static BOOLEAN WinpeSddlEat(WINPE_SDDL_CURSOR *c, WCHAR ch) {
  if (c->i < c->n && c->s[c->i] == ch) {
    c->i++;
    return TRUE;
  }
  return FALSE;
}

static BOOLEAN WinpeSddlHex(WCHAR ch, ULONG *v) {
  if (ch >= L'0' && ch <= L'9') *v = (ULONG)(ch - L'0');
  else if (ch >= L'a' && ch <= L'f') *v = (ULONG)(ch - L'a' + 10);
  else if (ch >= L'A' && ch <= L'F') *v = (ULONG)(ch - L'A' + 10);
  else return FALSE;
  return TRUE;
}

/* Access: "0x<hex>" or two-letter codes, up to the next ';'. */
static BOOLEAN WinpeSddlAccess(WINPE_SDDL_CURSOR *c, ACCESS_MASK *mask) {
  ACCESS_MASK m = 0;
  SIZE_T start = c->i;
  if (c->i + 1 < c->n && c->s[c->i] == L'0' && (c->s[c->i + 1] == L'x' || c->s[c->i + 1] == L'X')) {
    ULONG digits = 0;
    c->i += 2;
    while (c->i < c->n && c->s[c->i] != L';') {
      ULONG v;
      if (!WinpeSddlHex(c->s[c->i], &v) || ++digits > 8) return FALSE;
      m = (m << 4) | v;
      c->i++;
    }
    if (digits == 0) return FALSE;
    *mask = m;
    return TRUE;
  }
  while (c->i < c->n && c->s[c->i] != L';') {
    WCHAR a, b;
    if (c->i + 1 >= c->n) return FALSE;
    a = c->s[c->i];
    b = c->s[c->i + 1];
    if (a == L'G' && b == L'A') m |= GENERIC_ALL;
    else if (a == L'G' && b == L'R') m |= GENERIC_READ;
    else if (a == L'G' && b == L'W') m |= GENERIC_WRITE;
    else if (a == L'G' && b == L'X') m |= GENERIC_EXECUTE;
    else if (a == L'R' && b == L'C') m |= READ_CONTROL;
    else if (a == L'S' && b == L'D') m |= DELETE;
    else if (a == L'W' && b == L'D') m |= WRITE_DAC;
    else if (a == L'W' && b == L'O') m |= WRITE_OWNER;
    else return FALSE;
    c->i += 2;
  }
  if (c->i == start) return FALSE; /* an ACE that grants nothing is not in the subset */
  *mask = m;
  return TRUE;
}

static BOOLEAN WinpeSddlDecimal(WINPE_SDDL_CURSOR *c, ULONGLONG max, ULONGLONG *out) {
  ULONGLONG v = 0;
  SIZE_T start = c->i;
  while (c->i < c->n && c->s[c->i] >= L'0' && c->s[c->i] <= L'9') {
    v = v * 10 + (ULONGLONG)(c->s[c->i] - L'0');
    if (v > max) return FALSE;
    c->i++;
  }
  if (c->i == start) return FALSE;
  *out = v;
  return TRUE;
}

/* SID: an alias from WinpeSddlAliases, or "S-1-<authority>-<sub>...", up to the closing ')'. */
static BOOLEAN WinpeSddlSid(WINPE_SDDL_CURSOR *c, WINPE_SDDL_SID *sid) {
  ULONG k;
  RtlZeroMemory(sid, sizeof(*sid));
  sid->Revision = 1;
  if (c->i + 1 < c->n && c->s[c->i] == L'S' && c->s[c->i + 1] == L'-') {
    ULONGLONG v;
    c->i += 2;
    if (!WinpeSddlDecimal(c, 255, &v) || v != 1) return FALSE;
    if (!WinpeSddlEat(c, L'-') || !WinpeSddlDecimal(c, 0xFFFFFFFFFFFFULL, &v)) return FALSE;
    for (k = 0; k < 6; k++) sid->IdentifierAuthority[5 - k] = (UCHAR)(v >> (8 * k));
    while (WinpeSddlEat(c, L'-')) {
      if (sid->SubAuthorityCount >= WINPE_SDDL_MAX_SUBAUTH) return FALSE;
      if (!WinpeSddlDecimal(c, 0xFFFFFFFFULL, &v)) return FALSE;
      sid->SubAuthority[sid->SubAuthorityCount++] = (ULONG)v;
    }
    return sid->SubAuthorityCount > 0;
  }
  if (c->i + 1 >= c->n) return FALSE;
  for (k = 0; k < sizeof(WinpeSddlAliases) / sizeof(WinpeSddlAliases[0]); k++) {
    const WINPE_SDDL_ALIAS *a = &WinpeSddlAliases[k];
    if (c->s[c->i] == a->Code[0] && c->s[c->i + 1] == a->Code[1]) {
      ULONG j;
      sid->IdentifierAuthority[5] = (UCHAR)a->Authority;
      sid->SubAuthorityCount = a->Count;
      for (j = 0; j < a->Count; j++) sid->SubAuthority[j] = a->Sub[j];
      c->i += 2;
      return TRUE;
    }
  }
  return FALSE;
}

static ULONG WinpeSddlSidLength(const WINPE_SDDL_SID *sid) {
  return 8 + 4 * (ULONG)sid->SubAuthorityCount;
}

/*
 * Parse `Sddl` (the device-object subset above) into a self-relative security descriptor allocated with
 * WINPE_SDDL_ALLOC. On success *Descriptor and *Length describe it; the caller frees it with WINPE_SDDL_FREE.
 * Returns STATUS_INVALID_PARAMETER for a string outside the subset, STATUS_INSUFFICIENT_RESOURCES when out of memory.
 */
static NTSTATUS WinpeSddlToSecurityDescriptor(_In_ PCUNICODE_STRING Sddl, _Out_ PSECURITY_DESCRIPTOR *Descriptor,
                                              _Out_ PULONG Length) {
  ACCESS_MASK masks[WINPE_SDDL_MAX_ACES];
  WINPE_SDDL_SID *local;
  ULONG count = 0, aclSize, k, selfLength = 0;
  WINPE_SDDL_CURSOR c;
  PACL acl = NULL;
  SECURITY_DESCRIPTOR absolute;
  PSECURITY_DESCRIPTOR self = NULL;
  NTSTATUS status;

  *Descriptor = NULL;
  *Length = 0;
  if (Sddl == NULL || Sddl->Buffer == NULL || (Sddl->Length % sizeof(WCHAR)) != 0) return STATUS_INVALID_PARAMETER;
  c.s = Sddl->Buffer;
  c.n = Sddl->Length / sizeof(WCHAR);
  c.i = 0;
  if (!WinpeSddlEat(&c, L'D') || !WinpeSddlEat(&c, L':') || !WinpeSddlEat(&c, L'P')) return STATUS_INVALID_PARAMETER;

  local = (WINPE_SDDL_SID *)WINPE_SDDL_ALLOC(sizeof(WINPE_SDDL_SID) * WINPE_SDDL_MAX_ACES);
  if (local == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  status = STATUS_INVALID_PARAMETER;
  while (c.i < c.n) {
    if (count >= WINPE_SDDL_MAX_ACES) goto done;
    if (!WinpeSddlEat(&c, L'(') || !WinpeSddlEat(&c, L'A') || !WinpeSddlEat(&c, L';') || !WinpeSddlEat(&c, L';'))
      goto done;
    if (!WinpeSddlAccess(&c, &masks[count])) goto done;
    if (!WinpeSddlEat(&c, L';') || !WinpeSddlEat(&c, L';') || !WinpeSddlEat(&c, L';')) goto done;
    if (!WinpeSddlSid(&c, &local[count])) goto done;
    if (!WinpeSddlEat(&c, L')')) goto done;
    count++;
  }

  aclSize = sizeof(ACL);
  for (k = 0; k < count; k++) aclSize += sizeof(ACCESS_ALLOWED_ACE) - sizeof(ULONG) + WinpeSddlSidLength(&local[k]);
  acl = (PACL)WINPE_SDDL_ALLOC(aclSize);
  if (acl == NULL) {
    status = STATUS_INSUFFICIENT_RESOURCES;
    goto done;
  }
  status = RtlCreateAcl(acl, aclSize, ACL_REVISION);
  for (k = 0; NT_SUCCESS(status) && k < count; k++) {
    status = RtlAddAccessAllowedAce(acl, ACL_REVISION, masks[k], (PSID)&local[k]);
  }
  if (NT_SUCCESS(status)) status = RtlCreateSecurityDescriptor(&absolute, SECURITY_DESCRIPTOR_REVISION);
  if (NT_SUCCESS(status)) status = RtlSetDaclSecurityDescriptor(&absolute, TRUE, acl, FALSE);
  if (NT_SUCCESS(status)) {
    absolute.Control |= SE_DACL_PROTECTED;
    status = RtlAbsoluteToSelfRelativeSD(&absolute, NULL, &selfLength);
    if (status == STATUS_BUFFER_TOO_SMALL && selfLength > 0) {
      self = WINPE_SDDL_ALLOC(selfLength);
      status = self == NULL ? STATUS_INSUFFICIENT_RESOURCES : RtlAbsoluteToSelfRelativeSD(&absolute, self, &selfLength);
    } else if (NT_SUCCESS(status)) {
      status = STATUS_INVALID_PARAMETER;
    }
  }
  if (NT_SUCCESS(status)) {
    *Descriptor = self;
    *Length = selfLength;
    self = NULL;
  }
done:
  if (self != NULL) WINPE_SDDL_FREE(self);
  if (acl != NULL) WINPE_SDDL_FREE(acl);
  WINPE_SDDL_FREE(local);
  return status;
}

#endif /* WINPE_LAB_DEVOBJ_SDDL_H */
