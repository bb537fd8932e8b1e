import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
import type { ConsentAction as _wasidecar_v1_ConsentAction, ConsentAction__Output as _wasidecar_v1_ConsentAction__Output } from '../../wasidecar/v1/ConsentAction';
import type { ConsentProof as _wasidecar_v1_ConsentProof, ConsentProof__Output as _wasidecar_v1_ConsentProof__Output } from '../../wasidecar/v1/ConsentProof';
export interface ConsentEvent {
    'id'?: (string);
    'category'?: (_wasidecar_v1_Category);
    'action'?: (_wasidecar_v1_ConsentAction);
    'proof'?: (_wasidecar_v1_ConsentProof | null);
}
export interface ConsentEvent__Output {
    'id': (string);
    'category': (_wasidecar_v1_Category__Output);
    'action': (_wasidecar_v1_ConsentAction__Output);
    'proof': (_wasidecar_v1_ConsentProof__Output | null);
}
