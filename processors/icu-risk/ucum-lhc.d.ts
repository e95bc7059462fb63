/** The part of @lhncbc/ucum-lhc (NLM's UCUM library, no bundled types) medstream uses. */
declare module '@lhncbc/ucum-lhc' {
  interface ConversionResult {
    status: 'succeeded' | 'failed' | 'error';
    toVal?: number | null;
    msg?: string[];
  }
  interface UcumLhcUtils {
    convertUnitTo(
      fromUnit: string,
      fromVal: number,
      toUnit: string,
      options?: { molecularWeight?: number },
    ): ConversionResult;
    validateUnitString(unit: string): { status: string; ucumCode: string | null; msg: string[] };
  }
  export const UcumLhcUtils: { getInstance(): UcumLhcUtils };
}
