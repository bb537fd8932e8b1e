import type { TemplateLanguage as _wasidecar_v1_TemplateLanguage, TemplateLanguage__Output as _wasidecar_v1_TemplateLanguage__Output } from '../../wasidecar/v1/TemplateLanguage';
import type { TemplateComponent as _wasidecar_v1_TemplateComponent, TemplateComponent__Output as _wasidecar_v1_TemplateComponent__Output } from '../../wasidecar/v1/TemplateComponent';
export interface Template {
    'name'?: (string);
    'language'?: (_wasidecar_v1_TemplateLanguage | null);
    'components'?: (_wasidecar_v1_TemplateComponent)[];
}
export interface Template__Output {
    'name': (string);
    'language': (_wasidecar_v1_TemplateLanguage__Output | null);
    'components': (_wasidecar_v1_TemplateComponent__Output)[];
}
