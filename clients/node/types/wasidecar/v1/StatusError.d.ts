export interface StatusError {
    'code'?: (number);
    'title'?: (string);
    'message'?: (string);
    'details'?: (string);
}
export interface StatusError__Output {
    'code': (number);
    'title': (string);
    'message': (string);
    'details': (string);
}
