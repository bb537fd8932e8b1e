import type { Category as _wasidecar_v1_Category, Category__Output as _wasidecar_v1_Category__Output } from '../../wasidecar/v1/Category';
import type { ConsentStatus as _wasidecar_v1_ConsentStatus, ConsentStatus__Output as _wasidecar_v1_ConsentStatus__Output } from '../../wasidecar/v1/ConsentStatus';
import type { ConsentProof as _wasidecar_v1_ConsentProof, ConsentProof__Output as _wasidecar_v1_ConsentProof__Output } from '../../wasidecar/v1/ConsentProof';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
export interface CategoryConsent {
    'category'?: (_wasidecar_v1_Category);
    'status'?: (_wasidecar_v1_ConsentStatus);
    /**
     * Proof of the record that decided the current status.
     */
    'proof'?: (_wasidecar_v1_ConsentProof | null);
    'updatedAt'?: (_google_protobuf_Timestamp | null);
}
export interface CategoryConsent__Output {
    'category': (_wasidecar_v1_Category__Output);
    'status': (_wasidecar_v1_ConsentStatus__Output);
    /**
     * Proof of the record that decided the current status.
     */
    'proof': (_wasidecar_v1_ConsentProof__Output | null);
    'updatedAt': (_google_protobuf_Timestamp__Output | null);
}
