import type { MethodDefinition } from '@grpc/proto-loader';
import type { Classification as _wasidecar_v1_Classification, Classification__Output as _wasidecar_v1_Classification__Output } from '../../wasidecar/v1/Classification';
import type { ClassifyRequest as _wasidecar_v1_ClassifyRequest, ClassifyRequest__Output as _wasidecar_v1_ClassifyRequest__Output } from '../../wasidecar/v1/ClassifyRequest';
import type { Decision as _wasidecar_v1_Decision, Decision__Output as _wasidecar_v1_Decision__Output } from '../../wasidecar/v1/Decision';
import type { EnqueueResponse as _wasidecar_v1_EnqueueResponse, EnqueueResponse__Output as _wasidecar_v1_EnqueueResponse__Output } from '../../wasidecar/v1/EnqueueResponse';
import type { GetSendStatusRequest as _wasidecar_v1_GetSendStatusRequest, GetSendStatusRequest__Output as _wasidecar_v1_GetSendStatusRequest__Output } from '../../wasidecar/v1/GetSendStatusRequest';
import type { GetSendStatusResponse as _wasidecar_v1_GetSendStatusResponse, GetSendStatusResponse__Output as _wasidecar_v1_GetSendStatusResponse__Output } from '../../wasidecar/v1/GetSendStatusResponse';
import type { ListDeadLettersRequest as _wasidecar_v1_ListDeadLettersRequest, ListDeadLettersRequest__Output as _wasidecar_v1_ListDeadLettersRequest__Output } from '../../wasidecar/v1/ListDeadLettersRequest';
import type { ListDeadLettersResponse as _wasidecar_v1_ListDeadLettersResponse, ListDeadLettersResponse__Output as _wasidecar_v1_ListDeadLettersResponse__Output } from '../../wasidecar/v1/ListDeadLettersResponse';
import type { ListInDoubtRequest as _wasidecar_v1_ListInDoubtRequest, ListInDoubtRequest__Output as _wasidecar_v1_ListInDoubtRequest__Output } from '../../wasidecar/v1/ListInDoubtRequest';
import type { ListInDoubtResponse as _wasidecar_v1_ListInDoubtResponse, ListInDoubtResponse__Output as _wasidecar_v1_ListInDoubtResponse__Output } from '../../wasidecar/v1/ListInDoubtResponse';
import type { RequeueDeadLetterRequest as _wasidecar_v1_RequeueDeadLetterRequest, RequeueDeadLetterRequest__Output as _wasidecar_v1_RequeueDeadLetterRequest__Output } from '../../wasidecar/v1/RequeueDeadLetterRequest';
import type { RequeueDeadLetterResponse as _wasidecar_v1_RequeueDeadLetterResponse, RequeueDeadLetterResponse__Output as _wasidecar_v1_RequeueDeadLetterResponse__Output } from '../../wasidecar/v1/RequeueDeadLetterResponse';
import type { ResolveInDoubtRequest as _wasidecar_v1_ResolveInDoubtRequest, ResolveInDoubtRequest__Output as _wasidecar_v1_ResolveInDoubtRequest__Output } from '../../wasidecar/v1/ResolveInDoubtRequest';
import type { SendRequest as _wasidecar_v1_SendRequest, SendRequest__Output as _wasidecar_v1_SendRequest__Output } from '../../wasidecar/v1/SendRequest';
import type { SendResponse as _wasidecar_v1_SendResponse, SendResponse__Output as _wasidecar_v1_SendResponse__Output } from '../../wasidecar/v1/SendResponse';
export interface SendServiceDefinition {
    Check: MethodDefinition<_wasidecar_v1_SendRequest, _wasidecar_v1_Decision, _wasidecar_v1_SendRequest__Output, _wasidecar_v1_Decision__Output>;
    Classify: MethodDefinition<_wasidecar_v1_ClassifyRequest, _wasidecar_v1_Classification, _wasidecar_v1_ClassifyRequest__Output, _wasidecar_v1_Classification__Output>;
    Enqueue: MethodDefinition<_wasidecar_v1_SendRequest, _wasidecar_v1_EnqueueResponse, _wasidecar_v1_SendRequest__Output, _wasidecar_v1_EnqueueResponse__Output>;
    GetSendStatus: MethodDefinition<_wasidecar_v1_GetSendStatusRequest, _wasidecar_v1_GetSendStatusResponse, _wasidecar_v1_GetSendStatusRequest__Output, _wasidecar_v1_GetSendStatusResponse__Output>;
    ListDeadLetters: MethodDefinition<_wasidecar_v1_ListDeadLettersRequest, _wasidecar_v1_ListDeadLettersResponse, _wasidecar_v1_ListDeadLettersRequest__Output, _wasidecar_v1_ListDeadLettersResponse__Output>;
    ListInDoubt: MethodDefinition<_wasidecar_v1_ListInDoubtRequest, _wasidecar_v1_ListInDoubtResponse, _wasidecar_v1_ListInDoubtRequest__Output, _wasidecar_v1_ListInDoubtResponse__Output>;
    RequeueDeadLetter: MethodDefinition<_wasidecar_v1_RequeueDeadLetterRequest, _wasidecar_v1_RequeueDeadLetterResponse, _wasidecar_v1_RequeueDeadLetterRequest__Output, _wasidecar_v1_RequeueDeadLetterResponse__Output>;
    ResolveInDoubt: MethodDefinition<_wasidecar_v1_ResolveInDoubtRequest, _wasidecar_v1_SendResponse, _wasidecar_v1_ResolveInDoubtRequest__Output, _wasidecar_v1_SendResponse__Output>;
    Send: MethodDefinition<_wasidecar_v1_SendRequest, _wasidecar_v1_SendResponse, _wasidecar_v1_SendRequest__Output, _wasidecar_v1_SendResponse__Output>;
    SendBatch: MethodDefinition<_wasidecar_v1_SendRequest, _wasidecar_v1_SendResponse, _wasidecar_v1_SendRequest__Output, _wasidecar_v1_SendResponse__Output>;
}
