/**
 * A system- or app-level value.errors[] entry (e.g. 130429).
 */
export interface SystemError {
    'code'?: (number);
    'title'?: (string);
    'message'?: (string);
    'details'?: (string);
    'phoneNumberId'?: (string);
}
/**
 * A system- or app-level value.errors[] entry (e.g. 130429).
 */
export interface SystemError__Output {
    'code': (number);
    'title': (string);
    'message': (string);
    'details': (string);
    'phoneNumberId': (string);
}
