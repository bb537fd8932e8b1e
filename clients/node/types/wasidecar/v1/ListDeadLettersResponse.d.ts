import type { DeadLetter as _wasidecar_v1_DeadLetter, DeadLetter__Output as _wasidecar_v1_DeadLetter__Output } from '../../wasidecar/v1/DeadLetter';
export interface ListDeadLettersResponse {
    'deadLetters'?: (_wasidecar_v1_DeadLetter)[];
    'nextPageToken'?: (string);
}
export interface ListDeadLettersResponse__Output {
    'deadLetters': (_wasidecar_v1_DeadLetter__Output)[];
    'nextPageToken': (string);
}
