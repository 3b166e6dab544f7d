/*
 * scan.c - the character class table and the scanners every decoder uses.
 */
#include "sip/scan.h"

#include <errno.h>
#include <string.h>

uint16_t sip_cc_table[256];
unsigned char sip_lower_table[256];

static void add(const char *chars, unsigned cls)
{
	for (const char *c = chars; *c; c++)
		sip_cc_table[(unsigned char)*c] |= cls;
}

static void add_range(char lo, char hi, unsigned cls)
{
	for (int c = lo; c <= hi; c++)
		sip_cc_table[c] |= cls;
}

/*
 * Built once at load time; the table is read-only afterwards, so threads
 * (freeDiameter's) may parse concurrently.
 */
__attribute__((constructor)) static void sip_cc_init(void)
{
	const unsigned alnum = CC_TOKEN | CC_WORD | CC_UNRESERVED | CC_USER | CC_PASSWORD |
			       CC_PARAM | CC_HNV | CC_HOST | CC_SCHEME | CC_PVALUE;

	for (int c = 0; c < 256; c++)
		sip_lower_table[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	add_range('a', 'z', alnum | CC_ALPHA);
	add_range('A', 'Z', alnum | CC_ALPHA);
	add_range('0', '9', alnum | CC_DIGIT | CC_HEX | CC_TEL);
	add_range('a', 'f', CC_HEX | CC_TEL);
	add_range('A', 'F', CC_HEX | CC_TEL);
	add("-.!%*_+`'~", CC_TOKEN | CC_WORD | CC_PVALUE);
	add("()<>:\\\"/[]?{}", CC_WORD);
	add(" \t\r\n", CC_LWS);
	add("-_.!~*'()", CC_UNRESERVED | CC_USER | CC_PASSWORD | CC_PARAM | CC_HNV);
	add("&=+$,;?/", CC_USER);
	add("&=+$,", CC_PASSWORD);
	add("[]/:&+$", CC_PARAM);
	add("[]/?:+$", CC_HNV);
	add("-.", CC_HOST);
	add("+-.", CC_SCHEME);
	add(":[]", CC_PVALUE);
	add("*#+-.()", CC_TEL);
	add(",\"<>", CC_SPLIT);

}

int sip_fail(struct sip_error *err, int code, const char *reason, struct str where)
{
	if (err) {
		*err = (struct sip_error){
			.code = code,
			.reason = reason,
			.hdr = -1,
			.where = where,
			.status = 400,
		};
	}
	return code;
}

