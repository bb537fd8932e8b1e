import type { InDoubtSend as _wasidecar_v1_InDoubtSend, InDoubtSend__Output as _wasidecar_v1_InDoubtSend__Output } from '../../wasidecar/v1/InDoubtSend';
export interface ListInDoubtResponse {
    'sends'?: (_wasidecar_v1_InDoubtSend)[];
    'nextPageToken'?: (string);
}
export interface ListInDoubtResponse__Output {
    'sends': (_wasidecar_v1_InDoubtSend__Output)[];
    'nextPageToken': (string);
}
