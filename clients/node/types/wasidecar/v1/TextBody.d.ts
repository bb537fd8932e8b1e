export interface TextBody {
    'body'?: (string);
    'previewUrl'?: (boolean);
}
export interface TextBody__Output {
    'body': (string);
    'previewUrl': (boolean);
}
