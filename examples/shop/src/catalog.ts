/** Siam Tea Co.'s teas. */

/** A tea on sale. */
export interface Product {
  readonly sku: string
  readonly name: { readonly th: string; readonly en: string }
  readonly blurb: { readonly th: string; readonly en: string }
  readonly price: number
  /** The colour of the brewed tea, for the cup drawn on the product page. */
  readonly colour: string
}

/** Every tea, in shop order. */
export const PRODUCTS: ReadonlyArray<Product> = [
  {
    sku: "cha-thai",
    name: { th: "ชาไทยสูตรดั้งเดิม", en: "Classic Thai tea" },
    blurb: {
      th: "ชาแดงหอมเครื่องเทศ ชงกับนมข้นได้รสชาติแบบร้านริมทาง",
      en: "Spiced black tea for the street-stall cha yen at home.",
    },
    price: 180,
    colour: "#d9792b",
  },
  {
    sku: "jasmine-green",
    name: { th: "ชาเขียวมะลิ", en: "Jasmine green tea" },
    blurb: { th: "ใบชาเขียวอบดอกมะลิสด หอมละมุน", en: "Green tea scented with fresh jasmine flowers." },
    price: 220,
    colour: "#b8c46a",
  },
  {
    sku: "oolong-mae-salong",
    name: { th: "ชาอู่หลงดอยแม่สลอง", en: "Doi Mae Salong oolong" },
    blurb: { th: "อู่หลงจากไร่บนดอยสูงเชียงราย", en: "High-mountain oolong from Chiang Rai." },
    price: 350,
    colour: "#c9a44a",
  },
  {
    sku: "butterfly-pea",
    name: { th: "ชาดอกอัญชัน", en: "Butterfly pea flower tea" },
    blurb: { th: "สีฟ้าสดใส เปลี่ยนเป็นสีม่วงเมื่อบีบมะนาว", en: "Bright blue; turns violet with a squeeze of lime." },
    price: 150,
    colour: "#3a5bd9",
  },
  {
    sku: "lemongrass-pandan",
    name: { th: "ชาตะไคร้ใบเตย", en: "Lemongrass and pandan" },
    blurb: { th: "สมุนไพรไทยไร้คาเฟอีน ดื่มได้ทุกเวลา", en: "Caffeine-free Thai herbs for any hour." },
    price: 160,
    colour: "#8fbf5a",
  },
  {
    sku: "black-chiang-rai",
    name: { th: "ชาดำเชียงราย", en: "Chiang Rai black tea" },
    blurb: { th: "ชาดำเข้มข้น กลิ่นน้ำผึ้งอ่อน ๆ", en: "A strong black tea with a honeyed finish." },
    price: 240,
    colour: "#7a3b1d",
  },
]

/** A tea by sku. */
export const productOf = (sku: string): Product | undefined => PRODUCTS.find((p) => p.sku === sku)
