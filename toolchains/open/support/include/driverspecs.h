/*
 * driverspecs.h -- winpe-lab's wrapper around mingw-w64's driverspecs.h.
 *
 * The WDK's driverspecs.h defines the driver annotations that the code analysis tools (PREfast, Static Driver
 * Verifier) read; for the compiler they mean nothing. mingw-w64's copy lacks some that WDK projects use; this
 * wrapper adds them with their compile-time meaning (none), only where mingw-w64 did not define them.
 */
#include_next <driverspecs.h>

#ifndef _Unreferenced_parameter_
#define _Unreferenced_parameter_
#endif
#ifndef _Dispatch_type_
#define _Dispatch_type_(type)
#endif
#ifndef _Kernel_float_saved_
#define _Kernel_float_saved_
#endif
#ifndef _Kernel_float_restored_
#define _Kernel_float_restored_
#endif
#ifndef _Kernel_float_used_
#define _Kernel_float_used_
#endif
#ifndef _Kernel_clear_do_init_
#define _Kernel_clear_do_init_(yesNo)
#endif
#ifndef _Kernel_IoGetDmaAdapter_
#define _Kernel_IoGetDmaAdapter_
#endif
#ifndef _Kernel_releases_resource_
#define _Kernel_releases_resource_(kind)
#endif
#ifndef _Kernel_acquires_resource_
#define _Kernel_acquires_resource_(kind)
#endif
#ifndef _Kernel_requires_resource_held_
#define _Kernel_requires_resource_held_(kind)
#endif
#ifndef _Kernel_requires_resource_not_held_
#define _Kernel_requires_resource_not_held_(kind)
#endif
#ifndef _IRQL_always_function_max_
#define _IRQL_always_function_max_(irql)
#endif
#ifndef _IRQL_always_function_min_
#define _IRQL_always_function_min_(irql)
#endif
#ifndef _IRQL_requires_same_
#define _IRQL_requires_same_
#endif
#ifndef _IRQL_uses_cancel_
#define _IRQL_uses_cancel_
#endif
#ifndef _IRQL_is_cancel_
#define _IRQL_is_cancel_
#endif
#ifndef _Function_class_
#define _Function_class_(name)
#endif
#ifndef _Must_inspect_result_
#define _Must_inspect_result_
#endif
#ifndef _Requires_lock_held_
#define _Requires_lock_held_(lock)
#endif
#ifndef _Requires_lock_not_held_
#define _Requires_lock_not_held_(lock)
#endif
#ifndef _Acquires_lock_
#define _Acquires_lock_(lock)
#endif
#ifndef _Releases_lock_
#define _Releases_lock_(lock)
#endif
#ifndef _When_
#define _When_(condition, annotations)
#endif
#ifndef _At_
#define _At_(target, annotations)
#endif
#ifndef _Post_satisfies_
#define _Post_satisfies_(condition)
#endif
#ifndef _Pre_satisfies_
#define _Pre_satisfies_(condition)
#endif
#ifndef _Inout_updates_bytes_all_
#define _Inout_updates_bytes_all_(size)
#endif
#ifndef __drv_allocatesMem
#define __drv_allocatesMem(kind)
#endif
#ifndef __drv_freesMem
#define __drv_freesMem(kind)
#endif
#ifndef __drv_aliasesMem
#define __drv_aliasesMem
#endif
#ifndef __drv_strictTypeMatch
#define __drv_strictTypeMatch(mode)
#endif
#ifndef __drv_strictType
#define __drv_strictType(typename, mode)
#endif
#ifndef __drv_reportError
#define __drv_reportError(why)
#endif
#ifndef __drv_functionClass
#define __drv_functionClass(x)
#endif
#ifndef __drv_completionType
#define __drv_completionType(kindlist)
#endif
#ifndef __drv_sameIRQL
#define __drv_sameIRQL
#endif
#ifndef __drv_minIRQL
#define __drv_minIRQL(irql)
#endif
#ifndef __drv_isObjectPointer
#define __drv_isObjectPointer
#endif
#ifndef __drv_neverHold
#define __drv_neverHold(kind)
#endif
#ifndef __drv_mustHold
#define __drv_mustHold(kind)
#endif
#ifndef __drv_acquiresResource
#define __drv_acquiresResource(kind)
#endif
#ifndef __drv_releasesResource
#define __drv_releasesResource(kind)
#endif
#ifndef __drv_innerMustHoldGlobal
#define __drv_innerMustHoldGlobal(kind, param)
#endif
#ifndef __drv_innerNeverHoldGlobal
#define __drv_innerNeverHoldGlobal(kind, param)
#endif
#ifndef __drv_mustHoldCriticalRegion
#define __drv_mustHoldCriticalRegion
#endif
#ifndef __drv_maxFunctionIRQL
#define __drv_maxFunctionIRQL(irql)
#endif
#ifndef __drv_minFunctionIRQL
#define __drv_minFunctionIRQL(irql)
#endif
#ifndef __drv_clearDoInit
#define __drv_clearDoInit(yesNo)
#endif
#ifndef __drv_floatUsed
#define __drv_floatUsed
#endif
#ifndef __drv_floatSaved
#define __drv_floatSaved
#endif
#ifndef __drv_floatRestored
#define __drv_floatRestored
#endif
#ifndef __drv_interlocked
#define __drv_interlocked
#endif
#ifndef __drv_constant
#define __drv_constant
#endif
#ifndef __drv_notPointer
#define __drv_notPointer
#endif
#ifndef __drv_preferredFunction
#define __drv_preferredFunction(func, why)
#endif
#ifndef __drv_allocatesMem
#define __drv_allocatesMem(kind)
#endif
#ifndef __drv_valueIs
#define __drv_valueIs(arg)
#endif
